"""Posting to the ledger: open accounts, post balanced journals idempotently, reverse them.

Invariants kept here, and checked again by `reconcile`:
- a journal is all or nothing: its row, its transfers and its balance updates share one transaction;
- an idempotency key names one journal forever: replaying it returns that journal and writes
  nothing; reusing it for different content raises IdempotencyConflict;
- accounts are locked in primary-key order before any transfer row is written, so concurrent
  postings never deadlock and transfer ids on one account follow the order its balance changed;
- a bounded account never crosses its bound: checked here under the lock, and by a CHECK
  constraint in the database should anything bypass this module.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from lending.db import pipeline
from lending.ledger import sql
from lending.ledger.chart import CHART, AccountType, Bound, account_code
from lending.ledger.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidJournal,
)
from lending.ledger.models import Journal, LedgerAccount
from lending.money import MoneyError, check_currency, check_minor

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = Journal._meta.get_field("idempotency_key").max_length or 200
DEADLOCK_RETRIES = 3
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Line:
    """One transfer of a journal to be posted: `amount_cents` from `debit` to `credit`."""

    debit: LedgerAccount
    credit: LedgerAccount
    amount_cents: int


# --- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """Which account to open or find: its type, currency, holder reference and (optional) holding user."""

    account_type: AccountType
    currency: str
    ref: str = ""
    holder_id: int | None = None
    name: str = ""

    @property
    def code(self) -> str:
        return account_code(self.account_type, self.currency, self.ref)


def account_open(
    *, account_type: AccountType, currency: str, ref: str = "", holder_id: int | None = None, name: str = ""
) -> LedgerAccount:
    """Open the account of this type, currency and holder, or return it if it exists (race-safe)."""
    check_currency(currency)
    rule = CHART[account_type]
    account, _ = LedgerAccount.objects.get_or_create(
        code=account_code(account_type, currency, ref),
        defaults={
            "type": account_type,
            "currency": currency,
            "normal_side": rule.normal_side,
            "bound": rule.bound,
            "holder_id": holder_id,
            "name": name or rule.label,
        },
    )
    return account


def accounts_open(specs: Sequence[AccountSpec]) -> dict[str, LedgerAccount]:
    """Find many accounts in one query, opening any that do not exist yet: {code: account}."""
    wanted = {spec.code: spec for spec in specs}
    rows = LedgerAccount.objects.filter(code__in=wanted).only("pk", "code", "currency", "normal_side", "bound")
    found = {account.code: account for account in rows}
    for code, spec in wanted.items():
        if code not in found:
            found[code] = account_open(
                account_type=spec.account_type,
                currency=spec.currency,
                ref=spec.ref,
                holder_id=spec.holder_id,
                name=spec.name,
            )
    return found


def account_ids(specs: Sequence[AccountSpec]) -> dict[str, int]:
    """`accounts_open` for callers that need only ids: {code: id} from one plain query, opening any missing."""
    found = sql.account_ids([spec.code for spec in specs])
    for spec in specs:
        if spec.code not in found:
            found[spec.code] = account_open(
                account_type=spec.account_type,
                currency=spec.currency,
                ref=spec.ref,
                holder_id=spec.holder_id,
                name=spec.name,
            ).pk
    return found


def platform_account(account_type: AccountType, currency: str) -> LedgerAccount:
    """A platform-wide account (processor cash, fee income, credit losses, suspense)."""
    return account_open(account_type=account_type, currency=currency)


def lender_wallet_spec(*, user_id: int, currency: str) -> AccountSpec:
    """A lender's wallet in one currency: their available credit, which can never go negative."""
    return AccountSpec(
        AccountType.LENDER_WALLET,
        currency,
        ref=f"lender:{user_id}",  # keep in step with selectors.lender_wallet_find
        holder_id=user_id,
        name=f"Wallet of lender {user_id}",
    )


def lender_wallet(*, user: Any, currency: str) -> LedgerAccount:
    spec = lender_wallet_spec(user_id=user.pk, currency=currency)
    return account_open(
        account_type=spec.account_type, currency=currency, ref=spec.ref, holder_id=spec.holder_id, name=spec.name
    )


# --- journals ----------------------------------------------------------------------------------


def journal_post(
    *,
    idempotency_key: str,
    kind: str,
    lines: Sequence[Line],
    effective_at: datetime | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> Journal:
    """Post a balanced journal once per idempotency key and return it (the original, on a replay)."""
    for number, line in enumerate(lines, start=1):
        if line.debit.pk is None or line.credit.pk is None:
            raise InvalidJournal(f"line {number}: both accounts must be opened first")
        if line.debit.pk == line.credit.pk:
            raise InvalidJournal(f"line {number}: debit and credit are the same account ({line.debit.code})")
    return journal_post_transfers(
        idempotency_key=idempotency_key,
        kind=kind,
        transfers=[(ln.debit.pk, ln.credit.pk, ln.amount_cents) for ln in lines],
        effective_at=effective_at,
        description=description,
        metadata=metadata,
    )


def journal_post_transfers(
    *,
    idempotency_key: str,
    kind: str,
    transfers: Sequence[tuple[int, int, int]],
    effective_at: datetime | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
    savepoint: bool = True,
) -> Journal:
    """`journal_post` for callers that hold account ids, not accounts: (debit id, credit id, amount) triples.

    The hot paths (a repayment to 40 lenders) know their accounts' ids from one query and would
    otherwise build 44 model instances just to hand over their primary keys. `savepoint=False`
    saves two round trips, for a caller whose own atomic block ends on any error raised here.
    """
    _check_key(idempotency_key)
    if not kind or len(kind) > 40:
        raise InvalidJournal("kind must be 1 to 40 characters")
    _check_transfers(transfers)
    fingerprint = _fingerprint(kind, transfers)
    return _retry_deadlocks(
        lambda: _write(
            key=idempotency_key,
            kind=kind,
            fingerprint=fingerprint,
            triples=transfers,
            effective_at=effective_at or timezone.now(),
            description=description[:255],
            metadata=metadata or {},
            reverses=None,
            savepoint=savepoint,
        ),
    )


def journal_reverse(
    *, journal: Journal, idempotency_key: str, reason: str, effective_at: datetime | None = None
) -> Journal:
    """Post the mirror image of `journal` (every transfer swapped), once; the original stays as it was."""
    _check_key(idempotency_key)
    if not reason.strip():
        raise InvalidJournal("a reversal needs a reason")
    if journal.reverses_id is not None:
        raise AlreadyReversed(f"journal {journal.pk} is itself a reversal; post a new journal instead")
    triples = [(t.credit_account_id, t.debit_account_id, t.amount_cents) for t in journal.transfers.order_by("id")]
    fingerprint = _fingerprint("reversal", triples)

    def write() -> Journal:
        twin = Journal.objects.filter(reverses=journal).first()
        if twin is not None and twin.idempotency_key == idempotency_key:
            return _replay(idempotency_key, fingerprint)
        if twin is not None:
            raise AlreadyReversed(f"journal {journal.pk} was already reversed")
        return _write(
            key=idempotency_key,
            kind="reversal",
            fingerprint=fingerprint,
            triples=triples,
            effective_at=effective_at or timezone.now(),
            description=f"Reversal of journal {journal.pk}: {reason}"[:255],
            metadata={"reason": reason},
            reverses=journal,
            savepoint=True,  # a losing race is caught below, and the transaction must survive it
        )

    try:
        return _retry_deadlocks(write)
    except IntegrityError:
        # A concurrent reversal under another key won the one-reversal-per-journal constraint.
        if Journal.objects.filter(reverses=journal).exists():
            raise AlreadyReversed(f"journal {journal.pk} was already reversed") from None
        raise


# --- internals ---------------------------------------------------------------------------------


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidJournal(f"idempotency_key must be a non-blank string of at most {MAX_KEY_LENGTH} characters")


def _check_transfers(transfers: Sequence[tuple[int, int, int]]) -> None:
    if not transfers:
        raise InvalidJournal("a journal needs at least one transfer")
    for number, (debit, credit, amount) in enumerate(transfers, start=1):
        try:
            check_minor(amount, positive=True)
        except MoneyError as exc:
            raise InvalidJournal(f"line {number}: {exc}") from None
        if debit is None or credit is None:
            raise InvalidJournal(f"line {number}: both accounts must be opened first")
        if debit == credit:
            raise InvalidJournal(f"line {number}: debit and credit are the same account (id {debit})")


def _fingerprint(kind: str, triples: Sequence[tuple[int, int, int]]) -> str:
    text = kind + "|" + ";".join(f"{d}>{c}:{a}" for d, c, a in triples)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(key: str, fingerprint: str) -> Journal:
    """The journal already posted under `key`, if its content is the same; else IdempotencyConflict."""
    existing = Journal.objects.get(idempotency_key=key)
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(key)
    return existing


def _retry_deadlocks(write: Callable[[], T]) -> T:
    """Retry a whole posting the database chose as a deadlock or serialization victim.

    Only possible when we own the transaction: inside a caller's atomic block the error must
    propagate so the caller's whole unit of work is retried or abandoned together.
    """
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            return write()
        except OperationalError as exc:
            retryable = getattr(getattr(exc, "__cause__", None), "sqlstate", None) in {"40P01", "40001"}
            if not retryable or connection.in_atomic_block or attempt == DEADLOCK_RETRIES:
                raise
            logger.warning("ledger posting retried after %s (attempt %d)", exc, attempt)
    raise AssertionError("unreachable")


def _write(
    *,
    key: str,
    kind: str,
    fingerprint: str,
    triples: Sequence[tuple[int, int, int]],
    effective_at: datetime,
    description: str,
    metadata: dict[str, Any],
    reverses: Journal | None,
    savepoint: bool,
) -> Journal:
    with transaction.atomic(savepoint=savepoint):
        return _write_rows(
            Journal(
                idempotency_key=key,
                kind=kind,
                description=description,
                effective_at=effective_at,
                created_at=timezone.now(),
                fingerprint=fingerprint,
                reverses=reverses,
                metadata=metadata,
            ),
            triples,
        )


def _write_rows(journal: Journal, triples: Sequence[tuple[int, int, int]]) -> Journal:
    deltas = _deltas(triples)
    with pipeline():  # the journal row and the account locks in one round trip, the writes in the next
        inserted = sql.insert_journal(journal)
        locking = sql.lock_accounts(list(deltas))  # before any transfer row: ids then follow lock order
        journal_id, accounts = inserted(), locking()
        if journal_id is None:
            return _replay(journal.idempotency_key, journal.fingerprint)
        if len(accounts) != len(deltas):
            raise InvalidJournal(f"unknown ledger account(s): {sorted(set(deltas) - accounts.keys())}")
        _check_currencies(triples, accounts)
        _check_bounds(deltas, accounts)
        sql.insert_transfers(journal_id, [(d, c, amount, accounts[d].currency) for d, c, amount in triples])
        sql.add_to_balances(deltas)  # every account is locked above, so every row is there to update
    journal.pk = journal_id
    journal._state.adding = False
    journal._state.db = connection.alias
    return journal


def _deltas(triples: Sequence[tuple[int, int, int]]) -> dict[int, tuple[int, int]]:
    """Per account: (debits to add, credits to add)."""
    deltas: dict[int, tuple[int, int]] = {}
    for debit, credit, amount in triples:
        d, c = deltas.get(debit, (0, 0))
        deltas[debit] = (d + amount, c)
        d, c = deltas.get(credit, (0, 0))
        deltas[credit] = (d, c + amount)
    return deltas


def _check_currencies(triples: Sequence[tuple[int, int, int]], accounts: dict[int, sql.LockedAccount]) -> None:
    for debit, credit, _ in triples:
        if accounts[debit].currency != accounts[credit].currency:
            raise CurrencyMismatch(
                f"{accounts[debit].code} is in {accounts[debit].currency}, "
                f"{accounts[credit].code} in {accounts[credit].currency}"
            )


def _check_bounds(deltas: dict[int, tuple[int, int]], accounts: dict[int, sql.LockedAccount]) -> None:
    for account_id, (add_debits, add_credits) in deltas.items():
        account = accounts[account_id]
        debits = account.debits_posted_cents + add_debits
        credits = account.credits_posted_cents + add_credits
        if account.bound == Bound.DEBITS_LE_CREDITS and debits > credits:
            available = account.credits_posted_cents - account.debits_posted_cents
            requested = add_debits - add_credits
        elif account.bound == Bound.CREDITS_LE_DEBITS and credits > debits:
            available = account.debits_posted_cents - account.credits_posted_cents
            requested = add_credits - add_debits
        else:
            continue
        raise InsufficientFunds(
            account_code=account.code, available_cents=available, requested_cents=requested, currency=account.currency
        )
