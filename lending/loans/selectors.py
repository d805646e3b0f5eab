"""Reading loans for lenders, shared by the API and the pages: who may see which loan, the search filters
and sorts, each installment's state, a loan's lenders by public name, and what a lender could lend now.

Everything here reads; nothing writes. Lists run a constant number of queries whatever their length.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from lending.ledger.chart import AccountType, account_code
from lending.ledger.models import LedgerAccount
from lending.loans.models import Installment, LenderPosition, Loan, Sector

S = Loan.Status
PUBLIC = [S.FUNDRAISING, S.FUNDED, S.EXPIRED, S.PAYING_BACK, S.REPAID, S.DEFAULTED, S.REFUNDED]
# ?sort=: ordered by these, the id last so that equal values keep a stable order across pages
SORTS = {
    "newest": ("-created_at", "-id"),
    "expiring": ("ends_on", "id"),  # the deadline; loans never listed (none) last, and never a null in a cursor
    "amount_left": ("left_cents", "id"),
    "popularity": ("-lender_count", "-id"),
}


def visible_loans(user: User | Any) -> QuerySet[Loan]:
    """The loans this caller may see: public ones, plus unlisted ones that are theirs to see."""
    mine = Q(status__in=PUBLIC)
    if getattr(user, "is_authenticated", False):
        if user.is_platform_staff:
            return Loan.objects.all()
        mine |= Q(borrower__user=user)
        partner_id = getattr(getattr(user, "partner_staff", None), "partner_id", None)
        if partner_id is not None:
            mine |= Q(partner_id=partner_id)
    return Loan.objects.filter(mine)


def loans_annotated(queryset: QuerySet[Loan]) -> QuerySet[Loan]:
    """Borrower and partner joined; `left_cents` and `ends_on` annotated (the sorts use them, with `lender_count`)."""
    return queryset.select_related("borrower", "partner").annotate(
        left_cents=F("amount_cents") - F("raised_cents"),
        ends_on=Coalesce("fundraising_deadline", Value(date.max)),
    )


class LoanFilter(django_filters.FilterSet):
    """The search filters, as the API's query parameters name them (amounts in minor units)."""

    status = django_filters.MultipleChoiceFilter(choices=S.choices)
    sector = django_filters.MultipleChoiceFilter(choices=Sector.choices)
    country = django_filters.CharFilter(method="filter_country", help_text="ISO 3166-1 alpha-2, e.g. KE")
    partner = django_filters.NumberFilter(field_name="partner_id")
    borrower_gender = django_filters.ChoiceFilter(choices=Loan.Gender.choices)
    amount_left_min = django_filters.NumberFilter(field_name="left_cents", lookup_expr="gte", label="amount_left_min")
    amount_left_max = django_filters.NumberFilter(field_name="left_cents", lookup_expr="lte", label="amount_left_max")
    days_left_max = django_filters.NumberFilter(
        method="filter_days_left", min_value=0, help_text="fundraising ends within N days"
    )
    expiring_soon = django_filters.BooleanFilter(method="filter_expiring", help_text="fundraising ends within 7 days")
    sort = django_filters.ChoiceFilter(
        choices=[(name, name) for name in SORTS], method="filter_nothing",
        help_text="newest (default), expiring, amount_left or popularity",
    )  # fmt: skip

    class Meta:
        model = Loan
        fields: list[str] = []

    def filter_nothing(self, queryset: QuerySet[Loan], name: str, value: str) -> QuerySet[Loan]:
        return queryset  # the order is the caller's: the API's cursor, or loans_sorted

    def filter_country(self, queryset: QuerySet[Loan], name: str, value: str) -> QuerySet[Loan]:
        return queryset.filter(country=value.upper())

    def filter_days_left(self, queryset: QuerySet[Loan], name: str, value: Any) -> QuerySet[Loan]:
        today = timezone.localdate()
        days = min(int(value), 366)  # the filter's value is a Decimal, which timedelta refuses; fundraising is shorter
        return queryset.filter(status=S.FUNDRAISING, fundraising_deadline__range=(today, today + timedelta(days=days)))

    def filter_expiring(self, queryset: QuerySet[Loan], name: str, value: bool) -> QuerySet[Loan]:
        week = self.filter_days_left(queryset, name, 7)
        return week if value else queryset.exclude(pk__in=week.values("pk"))


def loan_search(*, user: User | Any, filters: dict[str, Any]) -> QuerySet[Loan]:
    """The loans `user` may see that match `filters` (LoanFilter's names; status defaults to fundraising),
    in the order of `filters["sort"]` (newest by default). The filters must be valid already."""
    loans = loans_annotated(visible_loans(user))
    if not filters.get("status"):
        loans = loans.filter(status=S.FUNDRAISING)
    found = LoanFilter(filters, queryset=loans)
    if not found.is_valid():
        raise ValueError(f"invalid loan filters: {found.errors.as_data()}")
    return found.qs.order_by(*SORTS.get(filters.get("sort") or "", SORTS["newest"]))


def loan_page_find(*, user: User | Any, pk: int, schedule: bool = True) -> Loan | None:
    """One loan for its page (with its schedule prefetched unless `schedule` is False), or None if `user`
    may not see it."""
    loans = loans_annotated(visible_loans(user))
    return (loans.prefetch_related("installments") if schedule else loans).filter(pk=pk).first()


def installment_state(row: Installment, today: date | None = None) -> str:
    """repaid, late (due and not paid in full), partial (paid in part, not yet due) or future."""
    if row.paid_on is not None:
        return "repaid"
    if row.due_date < (today or timezone.localdate()):
        return "late"
    return "partial" if row.paid_cents else "future"


def public_name(user: User) -> str:
    """The name a lender shows on the loans they fund, or 'Anonymous' if they lend privately."""
    profile = getattr(user, "lender_profile", None)
    if profile is None or not profile.is_public:
        return "Anonymous"
    return profile.display_name or "Anonymous"


def loan_lenders(*, loan: Loan, limit: int | None = None) -> list[tuple[str, int]]:
    """(public name, lent_cents) of who lent to the loan, largest first; one query."""
    positions = (
        LenderPosition.objects.filter(loan=loan, lent_cents__gt=0)
        .select_related("lender__lender_profile")
        .order_by("-lent_cents", "id")
    )
    return [(public_name(p.lender), p.lent_cents) for p in (positions[:limit] if limit else positions)]


def lender_balances(*, user_id: int, currencies: Iterable[str]) -> dict[str, int]:
    """The lender's wallet balance in each currency (0 where no wallet is open yet), in one query."""
    wanted = {account_code(AccountType.LENDER_WALLET, c, ref=f"lender:{user_id}"): c for c in set(currencies)}
    balances = dict.fromkeys(wanted.values(), 0)
    for account in LedgerAccount.objects.filter(code__in=wanted):
        balances[wanted[account.code]] = account.balance_cents
    return balances


def lend_refusal(*, loan: Loan, user: User | Any, wallet_cents: int, today: date | None = None) -> str:
    """Why `user` cannot lend to `loan` now ("" if they can), as a code the pages put in words:
    login, not_lender, own, closed, expired, wallet."""
    if not getattr(user, "is_authenticated", False):
        return "login"
    if not user.is_lender:
        return "not_lender"
    if loan.borrower.user_id == user.pk:
        return "own"
    if loan.status != S.FUNDRAISING or loan.remaining_cents <= 0:
        return "closed"
    if loan.fundraising_deadline is not None and (today or timezone.localdate()) > loan.fundraising_deadline:
        return "expired"
    if wallet_cents < loan.share_size_cents:
        return "wallet"
    return ""


# A lender picks from every multiple of the share up to this many shares, then from coarser steps,
# so a select stays short (Kiva's goes $25 .. $500, then larger amounts) and the largest amount is always there.
FINE_SHARES = 20
COARSE_SHARES = 20


def lend_amounts(*, share_cents: int, left_cents: int, wallet_cents: int) -> list[int]:
    """The amounts offered: multiples of the share up to min(what is left, what the wallet holds)."""
    top = min(left_cents, wallet_cents) // share_cents
    shares = [n for n in range(1, top + 1) if n <= FINE_SHARES or n % COARSE_SHARES == 0]
    if top >= 1 and shares[-1] != top:
        shares.append(top)
    return [n * share_cents for n in shares]
