"""A lender's dashboard, read in a fixed number of queries whatever the number of loans they hold.

Each selector is one query (grouped in the database, never a Python loop over rows): the wallet's
four ledger accounts, the portfolio grouped by status, sector and country, receipts per month,
expected repayments per month, one page of positions, and the latest wallet movements. Money
figures are live (positions, receipts and installments change in the same transactions as the
ledger); the rates beside them come from the nightly close (`lending.metrics.lenders`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models import Value as V
from django.db.models.functions import Coalesce, TruncMonth

from lending.ledger.chart import AccountType, account_code
from lending.ledger.models import LedgerAccount, Transfer
from lending.loans.models import Installment, LenderPosition, Loan, RepaymentSplit

S = Loan.Status
_WALLET_ACCOUNTS = {
    AccountType.LENDER_WALLET: "available_cents",
    AccountType.PENDING_WITHDRAWAL: "pending_withdrawal_cents",
    AccountType.DISPUTE_HELD: "dispute_held_cents",
    AccountType.LENDER_RECEIVABLE: "owed_cents",
}
_OUTSTANDING = F("lent_cents") - F("principal_repaid_cents") - F("written_off_cents") - F("refunded_cents")


@dataclass(frozen=True, slots=True)
class WalletFigures:
    """What the lender holds with us: to lend or withdraw, on its way to a card, held for a dispute, owed."""

    currency: str
    wallet_id: int | None  # None before the first deposit: reading never opens an account
    available_cents: int = 0
    pending_withdrawal_cents: int = 0
    dispute_held_cents: int = 0
    owed_cents: int = 0  # a lost dispute beyond what the wallet held


@dataclass(frozen=True, slots=True)
class Slice:
    key: str
    count: int
    lent_cents: int
    outstanding_cents: int


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The lender's portfolio grouped three ways, largest amount lent first."""

    by_status: list[Slice]
    by_sector: list[Slice]
    by_country: list[Slice]


@dataclass(frozen=True, slots=True)
class MonthFigure:
    month: date  # the first day of the month
    cents: int


@dataclass(frozen=True, slots=True)
class Expected:
    """The lender's share of what borrowers still owe, by due month; what fell due before this month apart."""

    months: list[MonthFigure]
    overdue_cents: int


@dataclass(frozen=True, slots=True)
class Activity:
    """One business event as the wallet saw it: the journal's net movement in (+) or out (-) of the wallet."""

    journal_id: int
    effective_at: datetime
    kind: str
    description: str
    amount_cents: int


def month_starts(first: date, count: int) -> list[date]:
    """`count` first-of-month dates from `first`'s month on."""
    index = first.year * 12 + first.month - 1
    return [date((index + n) // 12, (index + n) % 12 + 1, 1) for n in range(count)]


def _month_key(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


def lender_wallet_figures(*, lender_id: int, currency: str) -> WalletFigures:
    """The balances of the lender's wallet, pending-withdrawal, dispute-held and receivable accounts (one query)."""
    codes = {account_code(t, currency, ref=f"lender:{lender_id}"): (t, name) for t, name in _WALLET_ACCOUNTS.items()}
    found = dict.fromkeys(_WALLET_ACCOUNTS.values(), 0)
    wallet_id = None
    for account in LedgerAccount.objects.filter(code__in=list(codes)):
        account_type, name = codes[account.code]
        found[name] = account.balance_cents
        wallet_id = account.pk if account_type == AccountType.LENDER_WALLET else wallet_id
    return WalletFigures(currency=currency, wallet_id=wallet_id, **found)


def portfolio_breakdown(*, lender_id: int, currency: str) -> Breakdown:
    """Amount lent and outstanding per loan status, sector and country: one grouped query, folded three ways."""
    rows = (
        LenderPosition.objects.filter(lender_id=lender_id, lent_cents__gt=0, loan__currency=currency)
        .values("loan__status", "loan__sector", "loan__country")
        .annotate(count=Count("id"), lent=Sum("lent_cents"), out=Sum(_OUTSTANDING))
        .order_by()
    )
    groups: dict[str, dict[str, list[int]]] = {"status": {}, "sector": {}, "country": {}}
    for row in rows:
        for dimension in groups:
            totals = groups[dimension].setdefault(row[f"loan__{dimension}"], [0, 0, 0])
            totals[0] += row["count"]
            totals[1] += int(row["lent"] or 0)
            totals[2] += int(row["out"] or 0)

    def slices(dimension: str) -> list[Slice]:
        found = [Slice(key, *totals) for key, totals in groups[dimension].items()]
        return sorted(found, key=lambda s: (-s.lent_cents, s.key))

    return Breakdown(slices("status"), slices("sector"), slices("country"))


def repayments_by_month(*, lender_id: int, currency: str, today: date, months: int = 12) -> list[MonthFigure]:
    """What the lender received (principal and interest, recoveries included) per month, the last `months`."""
    starts = _last_months(today, months)
    rows = (
        RepaymentSplit.objects.filter(
            lender_id=lender_id, repayment__currency=currency, repayment__received_on__gte=starts[0],
            repayment__received_on__lte=today,
        )
        .annotate(month=TruncMonth("repayment__received_on"))
        .values("month")
        .annotate(cents=Sum(F("principal_cents") + F("interest_cents")))
        .order_by()
    )  # fmt: skip
    got = {_month_key(row["month"]): int(row["cents"] or 0) for row in rows}
    return [MonthFigure(month, got.get(month, 0)) for month in starts]


def _last_months(today: date, months: int) -> list[date]:
    """The first days of the `months` months ending with `today`'s."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return month_starts(date(index // 12, index % 12 + 1, 1), months)


def expected_repayments(*, lender_id: int, currency: str, today: date, months: int = 12) -> Expected:
    """The lender's pro-rata share of unpaid principal on paying-back loans, by due month, this month and on.

    Share = unpaid principal x lent / loan amount, rounded down per installment (the split gives the
    lender at least this, to the cent). Installments due before this month are summed as overdue.
    """
    starts = month_starts(date(today.year, today.month, 1), months + 1)
    share = ExpressionWrapper(
        (F("principal_cents") - F("paid_principal_cents")) * F("loan__positions__lent_cents") / F("loan__amount_cents"),
        output_field=BigIntegerField(),
    )
    rows = (
        Installment.objects.filter(
            loan__positions__lender_id=lender_id, loan__positions__lent_cents__gt=0, loan__status=S.PAYING_BACK,
            loan__currency=currency, paid_on__isnull=True, due_date__lt=starts[-1],
        )
        .annotate(month=TruncMonth("due_date"))
        .values("month")
        .annotate(cents=Sum(share))
        .order_by()
    )  # fmt: skip
    got: dict[date, int] = defaultdict(int)
    overdue = 0
    for row in rows:
        month, cents = _month_key(row["month"]), int(row["cents"] or 0)
        if month < starts[0]:
            overdue += cents
        else:
            got[month] += cents
    return Expected([MonthFigure(month, got.get(month, 0)) for month in starts[:-1]], overdue)


def portfolio_positions(
    *, lender_id: int, currency: str, status: str = "", sector: str = "", country: str = ""
) -> QuerySet[LenderPosition]:
    """The lender's stakes, newest loan first, each with its loan's next unpaid installment and their share of it.

    As the API's portfolio (lending.api.lending.Portfolio), plus the expected amount: the next
    installment's unpaid principal x lent / loan amount, computed in the same query.
    """
    next_due = Installment.objects.filter(loan=OuterRef("loan_id"), paid_on__isnull=True).order_by("number")
    unpaid = ExpressionWrapper(F("principal_cents") - F("paid_principal_cents"), output_field=BigIntegerField())
    filters = Q(lender_id=lender_id, lent_cents__gt=0, loan__currency=currency)
    for name, value in (("status", status), ("sector", sector), ("country", country)):
        if value:
            filters &= Q(**{f"loan__{name}": value})
    return (
        LenderPosition.objects.filter(filters)
        .select_related("loan__borrower")
        .annotate(
            next_due_date=Subquery(next_due.values("due_date")[:1]),
            next_unpaid_cents=Subquery(next_due.annotate(u=unpaid).values("u")[:1], output_field=BigIntegerField()),
        )
        .annotate(
            next_expected_cents=ExpressionWrapper(
                Coalesce(F("next_unpaid_cents"), V(0)) * F("lent_cents") / F("loan__amount_cents"),
                output_field=BigIntegerField(),
            ),
            outstanding=ExpressionWrapper(_OUTSTANDING, output_field=BigIntegerField()),
        )
        .order_by("-loan_id")
    )


def wallet_activity(*, wallet_id: int | None, limit: int = 10) -> list[Activity]:
    """The wallet's latest `limit` business events, newest first, each the journal's net movement (one query).

    A repayment can credit a wallet twice (principal from escrow, interest from cash): one line here.
    """
    if wallet_id is None:
        return []
    rows = (
        Transfer.objects.filter(Q(debit_account_id=wallet_id) | Q(credit_account_id=wallet_id))
        .values("journal_id", "journal__effective_at", "journal__kind", "journal__description")
        .annotate(
            cents_in=Coalesce(Sum("amount_cents", filter=Q(credit_account_id=wallet_id)), V(0)),
            cents_out=Coalesce(Sum("amount_cents", filter=Q(debit_account_id=wallet_id)), V(0)),
        )
        .order_by("-journal__effective_at", "-journal_id")[:limit]
    )
    return [
        Activity(
            journal_id=row["journal_id"],
            effective_at=row["journal__effective_at"],
            kind=row["journal__kind"],
            description=row["journal__description"],
            amount_cents=int(row["cents_in"]) - int(row["cents_out"]),
        )
        for row in rows
    ]


def loans_named(ids: list[int]) -> dict[int, Loan]:
    """Loans by id with their borrower, for naming the loans of a list of decisions (one query)."""
    return {loan.pk: loan for loan in Loan.objects.filter(pk__in=ids).select_related("borrower")}
