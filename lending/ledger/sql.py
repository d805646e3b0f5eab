"""The SQL that writes ledger rows: one statement per step, portable between PostgreSQL and SQLite.

The ORM would issue the same statements, but builds 41 model instances per repayment to do it;
on the hot path of every money movement that cost half the throughput (see `bench ledger`).
Only `lending.ledger.services` calls these, inside its own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from lending.db import add_to_columns, insert_rows
from lending.ledger.models import Journal, LedgerAccount, Transfer

ACCOUNT = LedgerAccount._meta.db_table
JOURNAL = Journal._meta.db_table
TRANSFER = Transfer._meta.db_table


@dataclass(frozen=True, slots=True)
class LockedAccount:
    id: int
    code: str
    currency: str
    bound: str
    debits_posted_cents: int
    credits_posted_cents: int


def account_ids(codes: Sequence[str]) -> dict[str, int]:
    """{code: id} of the accounts that exist among `codes`, in one statement."""
    if not codes:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT code, id FROM {ACCOUNT} WHERE code IN ({', '.join(['%s'] * len(codes))})", list(codes))
        return dict(cursor.fetchall())


def insert_journal(journal: Journal) -> int | None:
    """Insert the (unsaved) journal row and return its id, or None if its key is taken by a committed twin.

    A concurrent twin that has not committed yet makes this statement wait for it, so the key is
    decided exactly once: by the first transaction to commit.
    """
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {JOURNAL} (idempotency_key, kind, description, effective_at, created_at, fingerprint, "
            "reverses_id, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            [journal.idempotency_key, journal.kind, journal.description, adapt(journal.effective_at),
             adapt(journal.created_at), journal.fingerprint, journal.reverses_id, json.dumps(journal.metadata)],
        )  # fmt: skip
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def lock_accounts(account_ids: Sequence[int]) -> dict[int, LockedAccount]:
    """Lock the accounts in primary-key order and read their balances (SQLite locks the whole file)."""
    ordered = sorted(account_ids)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, code, currency, bound, debits_posted_cents, credits_posted_cents FROM {ACCOUNT} "
            f"WHERE id IN ({', '.join(['%s'] * len(ordered))}) ORDER BY id{lock}",
            ordered,
        )
        return {row[0]: LockedAccount(*row) for row in cursor.fetchall()}


def insert_transfers(journal_id: int, rows: Sequence[tuple[int, int, int, str]]) -> None:
    """Insert (debit id, credit id, amount, currency) rows in one statement, after the accounts are locked."""
    insert_rows(
        Transfer,
        ["journal", "debit_account", "credit_account", "amount_cents", "currency"],
        [(journal_id, debit, credit, amount, currency) for debit, credit, amount, currency in rows],
    )


def add_to_balances(deltas: dict[int, tuple[int, int]]) -> int:
    """Add (debits, credits) to each account's cached totals in one UPDATE; return the rows updated.

    The CHECK constraints on the account table refuse any result past an account's bound.
    """
    return add_to_columns(
        LedgerAccount,
        ["debits_posted_cents", "credits_posted_cents"],
        [(account_id, debits, credits) for account_id, (debits, credits) in deltas.items()],
    )
