"""The work lists of a field partner's staff and platform staff: what to review, what is late, what was lost.

Read-only selectors over loans. Each list is one query however many loans it holds (borrower and
partner joined, sums taken in subqueries), so a console page costs the same for 1 loan or 500.
A partner's staff see their own partner's loans only; platform staff see every loan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import FieldPartner, PartnerStaff, User
from lending.loans import batches
from lending.loans.arrears import BUCKETS, bucket_for
from lending.loans.errors import NotAllowed
from lending.loans.models import Installment, LenderSettlement, Loan, Repayment

S = Loan.Status
QUEUE_LIMIT = 100  # rows per queue section; the counts above it say how many there are in all
QUEUE_STATES = (S.SUBMITTED, S.APPROVED, S.FUNDED)
COUNTED_STATES = (S.SUBMITTED, S.APPROVED, S.FUNDRAISING, S.FUNDED, S.PAYING_BACK, S.REPAID, S.DEFAULTED)


def console_partner(user: User) -> FieldPartner | None:
    """The field partner whose loans this user works on (None: platform staff, every loan); NotAllowed otherwise."""
    if user.is_platform_staff:
        return None
    if user.is_partner_staff:
        staff = PartnerStaff.objects.filter(user_id=user.pk).select_related("partner").first()
        if staff is not None:
            return staff.partner
    raise NotAllowed(f"{user.email} works for no field partner and is not platform staff")


def console_loans(partner_id: int | None) -> QuerySet[Loan]:
    """Every loan of the partner (or every loan at all for platform staff), borrower and partner joined."""
    loans = Loan.objects.select_related("borrower", "partner")
    return loans if partner_id is None else loans.filter(partner_id=partner_id)


def state_counts(loans: QuerySet[Loan]) -> dict[str, int]:
    """How many loans are in each working state, in one query."""
    counts = loans.order_by().aggregate(**{s.value: Count("pk", filter=Q(status=s)) for s in COUNTED_STATES})
    return {s.value: int(counts[s.value] or 0) for s in COUNTED_STATES}


def review_queue(loans: QuerySet[Loan]) -> dict[str, list[Loan]]:
    """Submitted loans to approve or reject, approved ones to list, funded ones to pay out: oldest first."""
    order = {S.SUBMITTED: "created_at", S.APPROVED: "created_at", S.FUNDED: "funded_on"}
    return {
        state: list(loans.filter(status=state).order_by(order[state], "pk")[:QUEUE_LIMIT]) for state in QUEUE_STATES
    }


def _principal_outstanding() -> Subquery:
    owed = (
        Installment.objects.filter(loan=OuterRef("pk"))
        .order_by()
        .values("loan")
        .annotate(owed=Sum(F("principal_cents") - F("paid_principal_cents")))
        .values("owed")
    )
    return Subquery(owed, output_field=IntegerField())


def loans_at_risk(loans: QuerySet[Loan], *, min_days: int = 1) -> QuerySet[Loan]:
    """Paying-back loans late by at least `min_days` (as the nightly close left them), most days late first.

    Each loan carries `principal_outstanding_cents`, the portfolio-at-risk amount it contributes.
    """
    return (
        loans.filter(status=S.PAYING_BACK, days_past_due__gte=max(1, min_days))
        .annotate(principal_outstanding_cents=Coalesce(_principal_outstanding(), Value(0)))
        .order_by("-days_past_due", "-amount_past_due_cents", "pk")
    )


@dataclass(frozen=True)
class BucketLine:
    label: str
    loans: int
    past_due_cents: int


def arrears_buckets(loans: QuerySet[Loan]) -> list[BucketLine]:
    """Late paying-back loans per aging bucket (count and amount past due), in one query."""
    late = loans.filter(status=S.PAYING_BACK, days_past_due__gte=1).order_by()
    late_buckets = BUCKETS[1:]
    aggregates: dict[str, Any] = {}
    for i, (low, label) in enumerate(late_buckets):
        where = Q(days_past_due__gte=low)
        if i + 1 < len(late_buckets):
            where &= Q(days_past_due__lt=late_buckets[i + 1][0])
        aggregates[f"n_{label}"] = Count("pk", filter=where)
        aggregates[f"a_{label}"] = Coalesce(Sum("amount_past_due_cents", filter=where), Value(0))
    figures = late.aggregate(**aggregates)
    return [BucketLine(label, int(figures[f"n_{label}"]), int(figures[f"a_{label}"])) for _, label in late_buckets]


def bucket_of(loan: Loan) -> str:
    return bucket_for(loan.days_past_due)


def _sum_of(rows: QuerySet[Any], column: str) -> Subquery:
    total = rows.order_by().values("loan").annotate(total=Sum(column)).values("total")
    return Subquery(total, output_field=IntegerField())


def loans_lost(loans: QuerySet[Loan]) -> QuerySet[Loan]:
    """Defaulted and refunded loans, latest first, with `recovered_cents` and `refunded_cents` from their rows."""
    recovered = Repayment.objects.filter(loan=OuterRef("pk"), is_recovery=True)
    refunded = LenderSettlement.objects.filter(loan=OuterRef("pk"), kind=LenderSettlement.Kind.REFUND)
    return (
        loans.filter(status__in=[S.DEFAULTED, S.REFUNDED])
        .annotate(
            recovered_cents=Coalesce(_sum_of(recovered, "amount_cents"), Value(0)),
            refunded_cents=Coalesce(_sum_of(refunded, "principal_cents"), Value(0)),
        )
        .order_by(F("ended_on").desc(nulls_last=True), "-pk")
    )


def loans_lost_totals(loans: QuerySet[Loan]) -> dict[str, int]:
    """How many loans defaulted, the principal written off on them and what was recovered since: two queries."""
    written = loans.filter(status=S.DEFAULTED).order_by().aggregate(n=Count("pk"), cents=Sum("written_off_cents"))
    recovered = Repayment.objects.filter(loan__in=loans.values("pk"), is_recovery=True).aggregate(
        cents=Sum("amount_cents")
    )
    return {
        "defaulted": int(written["n"] or 0),
        "written_off_cents": int(written["cents"] or 0),
        "recovered_cents": int(recovered["cents"] or 0),
    }


def principal_outstanding(loan: Loan) -> int:
    """What the borrower still owes of the principal: what a write-off or refund would settle."""
    unpaid = Sum(F("principal_cents") - F("paid_principal_cents"))
    owed = Installment.objects.filter(loan=loan).aggregate(owed=unpaid)["owed"]
    return int(owed or 0) if loan.disbursed_on else loan.raised_cents


# --- repayment batches: the preview -----------------------------------------------------------------


@dataclass
class PreviewRow:
    """One row of an uploaded batch as the preview shows it, with every problem found in it."""

    number: int
    loan: str
    amount_cents: int | None
    amount_text: str
    currency: str
    received_on: str
    reference: str
    borrower: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class BatchPreview:
    rows: list[PreviewRow]
    errors: list[str]  # problems of the batch as a whole (no rows, too many rows)

    @property
    def ok(self) -> bool:
        return not self.errors and all(row.ok for row in self.rows)

    @property
    def problems(self) -> int:
        return len(self.errors) + sum(len(row.errors) for row in self.rows)


FIELD_NAMES = {"loan": "Loan", "amount_cents": "Amount", "currency": "Currency", "received_on": "Date",
               "reference": "Reference"}  # fmt: skip


def _text(row: dict[str, Any], name: str) -> str:
    return str(row.get(name) or "").strip()


def batch_preview(
    *, rows: list[dict[str, Any]], actor: User, source: str, errors: list[batches.RowError] | None = None
) -> BatchPreview:
    """Every row with its problems, by the very checks `repayment_batch_record` makes before it records anything.

    Nothing is written: the preview only reads, so a person sees each row's error before the batch is applied.
    `errors`, when given, are the problems a refused batch reported, shown instead of checking again.
    """
    if errors is None:
        _, errors = batches.repayment_batch_check(
            rows, actor, source
        )  # the service's own checks, so preview and apply agree
    ids = {int(_text(r, "loan")) for r in rows if _text(r, "loan").isdigit()}
    partner = console_partner(actor)
    loans = console_loans(None if partner is None else partner.pk)
    names = dict(loans.filter(pk__in=ids).values_list("pk", "borrower__display_name"))
    shown = []
    for n, row in enumerate(rows, start=1):
        amount = _text(row, "amount_cents")
        loan = _text(row, "loan")
        shown.append(
            PreviewRow(
                number=n,
                loan=loan,
                amount_cents=int(amount) if amount.isdigit() else None,
                amount_text=amount,
                currency=_text(row, "currency").upper(),
                received_on=_text(row, "received_on"),
                reference=_text(row, "reference"),
                borrower=names.get(int(loan), "") if loan.isdigit() else "",
            )
        )
    whole = []
    # A loan the user may not post for is "no loan" to them: what else the checks said of it (its state, its
    # currency) would tell a partner's staff about another partner's loan, so it is left out.
    foreign = {e.row for e in errors if e.field == "loan" and e.message.startswith("no loan ")}
    for error in errors:
        if error.row in foreign and error.field in ("loan", "currency") and not error.message.startswith("no loan "):
            continue
        if 1 <= error.row <= len(shown):
            shown[error.row - 1].errors.append(f"{FIELD_NAMES.get(error.field, error.field)}: {error.message}")
        else:
            whole.append(error.message)
    return BatchPreview(rows=shown, errors=whole)
