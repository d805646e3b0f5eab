"""The SQL that writes ledger rows: one statement per step, portable between PostgreSQL and SQLite.

The ORM would issue the same statements, but builds 41 model instances per repayment to do it;
on the hot path of every money movement that cost half the throughput (see `bench ledger`).
Only `lending.ledger.services` calls these, inside its own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import connection

from lending.db import add_to_columns, insert_rows, send
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


def insert_journal(journal: Journal) -> Callable[[], int | None]:
    """Insert the (unsaved) journal row; the function returned gives its id, or None if a committed twin has the key.

    A concurrent twin that has not committed yet makes this statement wait for it, so the key is
    decided exactly once: by the first transaction to commit. (Sent, not awaited: see `db.send`.)
    """
    adapt = connection.ops.adapt_datetimefield_value
    rows = send(
        f"INSERT INTO {JOURNAL} (idempotency_key, kind, description, effective_at, created_at, fingerprint, "
        "reverses_id, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        [journal.idempotency_key, journal.kind, journal.description, adapt(journal.effective_at),
         adapt(journal.created_at), journal.fingerprint, journal.reverses_id, json.dumps(journal.metadata)],
    )  # fmt: skip
    return lambda: next((int(row[0]) for row in rows()), None)


def lock_accounts(account_ids: Sequence[int]) -> Callable[[], dict[int, LockedAccount]]:
    """Lock the accounts in primary-key order; the function returned gives their balances (SQLite locks the file)."""
    ordered = sorted(account_ids)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    rows = send(
        f"SELECT id, code, currency, bound, debits_posted_cents, credits_posted_cents FROM {ACCOUNT} "
        f"WHERE id IN ({', '.join(['%s'] * len(ordered))}) ORDER BY id{lock}",
        ordered,
    )
    return lambda: {row[0]: LockedAccount(*row) for row in rows()}


def insert_transfers(journal_id: int, rows: Sequence[tuple[int, int, int, str]]) -> None:
    """Insert (debit id, credit id, amount, currency) rows in one statement, after the accounts are locked."""
    insert_rows(
        Transfer,
        ["journal", "debit_account", "credit_account", "amount_cents", "currency"],
        [(journal_id, debit, credit, amount, currency) for debit, credit, amount, currency in rows],
    )


def add_to_balances(deltas: dict[int, tuple[int, int]]) -> None:
    """Add (debits, credits) to each account's cached totals in one UPDATE, after the accounts are locked.

    The CHECK constraints on the account table refuse any result past an account's bound.
    """
    add_to_columns(
        LedgerAccount,
        ["debits_posted_cents", "credits_posted_cents"],
        [(account_id, debits, credits) for account_id, (debits, credits) in deltas.items()],
    )
