"""Reading the ledger: balances now and as of any past moment, and account statements.

Historical figures come from the transfer log (the cache only knows "now"), filtered on each
journal's `effective_at`. A date means the end of that day in the platform's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from lending.ledger.chart import AccountType, Side, account_code
from lending.ledger.models import LedgerAccount, Transfer


@dataclass(frozen=True, slots=True)
class StatementLine:
    journal_id: int
    transfer_id: int
    effective_at: datetime
    kind: str
    description: str
    counterparty_code: str
    debit_cents: int
    credit_cents: int
    balance_cents: int  # running balance on the account's normal side after this line
    metadata: dict[str, Any] = field(default_factory=dict)  # the journal's (e.g. {"loan": 17}), for the caller


@dataclass(frozen=True, slots=True)
class Statement:
    account_code: str
    currency: str
    start: date
    end: date
    opening_balance_cents: int
    lines: list[StatementLine]
    closing_balance_cents: int

    @property
    def total_debits_cents(self) -> int:
        return sum(line.debit_cents for line in self.lines)

    @property
    def total_credits_cents(self) -> int:
        return sum(line.credit_cents for line in self.lines)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _signed(account: LedgerAccount, debits: int, credits: int) -> int:
    return debits - credits if account.normal_side == Side.DEBIT else credits - debits


def lender_wallet_find(*, user_id: int, currency: str) -> LedgerAccount | None:
    """The lender's wallet in `currency`, or None before their first deposit (reading never opens one)."""
    code = account_code(AccountType.LENDER_WALLET, currency, ref=f"lender:{user_id}")
    return LedgerAccount.objects.filter(code=code).first()


def account_balance(*, account: LedgerAccount, as_of: date | datetime | None = None) -> int:
    """Balance on the account's normal side; `as_of` a datetime (inclusive) or a date (end of that day)."""
    if as_of is None:
        fresh = LedgerAccount.objects.only("debits_posted_cents", "credits_posted_cents", "normal_side").get(
            pk=account.pk
        )
        return fresh.balance_cents
    if isinstance(as_of, datetime):
        moment = Q(journal__effective_at__lte=as_of)
    else:
        moment = Q(journal__effective_at__lt=_day_start(as_of + timedelta(days=1)))
    debits = Transfer.objects.filter(moment, debit_account=account).aggregate(s=Sum("amount_cents"))["s"] or 0
    credits = Transfer.objects.filter(moment, credit_account=account).aggregate(s=Sum("amount_cents"))["s"] or 0
    return _signed(account, debits, credits)


_LINE_FIELDS = (
    "journal_id", "id", "journal__effective_at", "journal__kind", "journal__description", "journal__metadata",
    "debit_account_id", "debit_account__code", "credit_account__code", "amount_cents",
)  # fmt: skip


def account_statement(*, account: LedgerAccount, start: date, end: date) -> Statement:
    """Opening balance at the start of `start`, every transfer through the end of `end`, closing balance."""
    if end < start:
        raise ValueError(f"statement end {end} is before its start {start}")
    opening = account_balance(account=account, as_of=start - timedelta(days=1))
    # Plain tuples, not model instances: a busy lender's year is tens of thousands of lines, and
    # building a Transfer with its journal and both accounts for each took most of the time.
    transfers = (
        Transfer.objects.filter(Q(debit_account=account) | Q(credit_account=account))
        .filter(
            journal__effective_at__gte=_day_start(start), journal__effective_at__lt=_day_start(end + timedelta(days=1))
        )
        .order_by("journal__effective_at", "id")
        .values_list(*_LINE_FIELDS)
    )
    running = opening
    lines = []
    for journal_id, transfer_id, at, kind, text, meta, debit_id, debit_code, credit_code, cents in transfers:
        is_debit = debit_id == account.pk
        debit, credit = (cents, 0) if is_debit else (0, cents)
        running += _signed(account, debit, credit)
        lines.append(
            StatementLine(
                journal_id=journal_id,
                transfer_id=transfer_id,
                effective_at=at,
                kind=kind,
                description=text,
                counterparty_code=credit_code if is_debit else debit_code,
                debit_cents=debit,
                credit_cents=credit,
                balance_cents=running,
                metadata=meta,
            )
        )
    return Statement(
        account_code=account.code,
        currency=account.currency,
        start=start,
        end=end,
        opening_balance_cents=opening,
        lines=lines,
        closing_balance_cents=running,
    )
