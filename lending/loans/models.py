"""Loans, their audit trail, shares, schedule installments, repayments and per-lender receipts.

Money columns are integer minor units (`*_cents`) in the loan's currency. Rows here describe the
loan; the money itself moves only through the ledger (`journal` links point at it).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import BorrowerProfile, FieldPartner
from lending.ledger.models import Journal
from lending.schedules import Amortization, DayCount, Frequency, InstallmentRounding, InterestMethod


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(member.value, member.value.replace("_", " ")) for member in enum]  # type: ignore[attr-defined]


class Sector(models.TextChoices):
    """Kiva's fifteen sectors."""

    AGRICULTURE = "agriculture", "Agriculture"
    ARTS = "arts", "Arts"
    CLOTHING = "clothing", "Clothing"
    CONSTRUCTION = "construction", "Construction"
    EDUCATION = "education", "Education"
    ENTERTAINMENT = "entertainment", "Entertainment"
    FOOD = "food", "Food"
    HEALTH = "health", "Health"
    HOUSING = "housing", "Housing"
    MANUFACTURING = "manufacturing", "Manufacturing"
    PERSONAL_USE = "personal_use", "Personal Use"
    RETAIL = "retail", "Retail"
    SERVICES = "services", "Services"
    TRANSPORTATION = "transportation", "Transportation"
    WHOLESALE = "wholesale", "Wholesale"


class Loan(models.Model):
    class Gender(models.TextChoices):
        """The borrower's gender, or a group's most common one (Kiva's `gender`), as lenders filter by it."""

        FEMALE = "female", "Female"
        MALE = "male", "Male"
        MIXED = "mixed", "Mixed group"
        UNSPECIFIED = "unspecified", "Not given"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        FUNDRAISING = "fundraising", "Fundraising"
        FUNDED = "funded", "Funded"
        EXPIRED = "expired", "Expired"
        PAYING_BACK = "paying_back", "Paying back"
        REPAID = "repaid", "Repaid"
        DEFAULTED = "defaulted", "Defaulted"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled"

    borrower = models.ForeignKey(BorrowerProfile, on_delete=models.PROTECT, related_name="loans")
    partner = models.ForeignKey(FieldPartner, null=True, blank=True, on_delete=models.PROTECT, related_name="loans")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)

    # What is asked for
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    purpose = models.CharField(max_length=200)
    sector = models.CharField(max_length=20, choices=Sector.choices)
    country = models.CharField(max_length=2)
    share_size_cents = models.BigIntegerField(default=2500)
    borrower_count = models.PositiveSmallIntegerField(default=1, help_text="More than one: a group loan.")
    borrower_gender = models.CharField(max_length=12, choices=Gender.choices, default=Gender.UNSPECIFIED)
    fundraising_days = models.PositiveSmallIntegerField(default=30)

    # Repayment terms (fed to lending.schedules at disbursement)
    repayments = models.PositiveSmallIntegerField()
    repayment_every = models.PositiveSmallIntegerField(default=1)
    repayment_frequency = models.CharField(max_length=6, choices=_choices(Frequency), default=Frequency.MONTHS)
    bullet = models.BooleanField(default=False)
    interest_method = models.CharField(max_length=20, choices=_choices(InterestMethod), default=InterestMethod.NONE)
    amortization = models.CharField(
        max_length=20, choices=_choices(Amortization), default=Amortization.EQUAL_INSTALLMENTS
    )
    annual_interest_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    lender_interest_rate = models.DecimalField(
        max_digits=7, decimal_places=4, default=0, help_text="Percent a year paid to lenders; 0 as on Kiva."
    )
    day_count = models.CharField(max_length=24, choices=_choices(DayCount), default=DayCount.SAME_AS_REPAYMENT_PERIOD)
    grace_on_principal_periods = models.PositiveSmallIntegerField(default=0)
    grace_on_interest_periods = models.PositiveSmallIntegerField(default=0)
    installment_multiple_of_cents = models.BigIntegerField(null=True, blank=True)
    installment_rounding = models.CharField(
        max_length=8, choices=_choices(InstallmentRounding), default=InstallmentRounding.NEAREST
    )
    # Irregular schedules: [{"due_in_days": 30, "principal_cents": 10000}, ...] relative to disbursement.
    irregular_schedule = models.JSONField(default=list, blank=True)
    allocation_order = models.CharField(max_length=40, default="fees,interest,principal")

    # What happened
    raised_cents = models.BigIntegerField(default=0)
    lender_count = models.PositiveIntegerField(
        default=0, help_text="Lenders who bought shares; kept by share_purchase so lists need not count positions."
    )
    fundraising_deadline = models.DateField(null=True, blank=True)
    funded_on = models.DateField(null=True, blank=True)
    disbursed_on = models.DateField(null=True, blank=True)
    first_repayment_date = models.DateField(null=True, blank=True)
    maturity_date = models.DateField(null=True, blank=True, help_text="The last installment's due date.")
    ended_on = models.DateField(null=True, blank=True)
    # Arrears, refreshed by loan_refresh_arrears (nightly) for the business date it names
    days_past_due = models.PositiveIntegerField(default=0)
    amount_past_due_cents = models.BigIntegerField(default=0)
    delinquent = models.BooleanField(default=False)
    arrears_as_of = models.DateField(null=True, blank=True)
    written_off_cents = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="loans_loan_amount_positive"),
            models.CheckConstraint(condition=Q(share_size_cents__gt=0), name="loans_loan_share_positive"),
            models.CheckConstraint(
                condition=Q(raised_cents__gte=0) & Q(raised_cents__lte=F("amount_cents")),
                name="loans_loan_not_overfunded",
            ),
            models.CheckConstraint(condition=Q(repayments__gte=1), name="loans_loan_repayments_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "fundraising_deadline"]),
            models.Index(fields=["status", "-created_at", "-id"], name="loans_loan_status_newest"),
            models.Index(fields=["status", "maturity_date"]),
        ]

    def __str__(self) -> str:
        return f"Loan {self.pk} ({self.status})"

    @property
    def remaining_cents(self) -> int:
        return self.amount_cents - self.raised_cents

    @property
    def ledger_ref(self) -> str:
        """The opaque reference the ledger keys this loan's accounts by."""
        return f"loan:{self.pk}"


class LoanEvent(models.Model):
    """Audit trail: every status change, who made it, when, and why."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=Loan.Status.choices)
    to_status = models.CharField(max_length=12, choices=Loan.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    business_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"loan {self.loan_id}: {self.from_status} -> {self.to_status}"


class Share(models.Model):
    """One purchase of loan shares by a lender (a multiple of the loan's share size)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="shares")
    lender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="loan_shares")
    amount_cents = models.BigIntegerField()
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_cents__gt=0), name="loans_share_amount_positive")]
        indexes = [models.Index(fields=["loan", "lender"])]

    def __str__(self) -> str:
        return f"{self.amount_cents} in loan {self.loan_id} by {self.lender_id}"


class LenderPosition(models.Model):
    """What one lender has in one loan: principal lent, repaid, written off; interest received.

    Kept in step with shares, repayment splits and settlements inside the same transactions, so a
    repayment reads 40 positions instead of summing every past split.
    """

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="positions", db_index=False)  # unique below
    lender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="loan_positions")
    lent_cents = models.BigIntegerField(default=0)
    principal_repaid_cents = models.BigIntegerField(default=0)
    interest_received_cents = models.BigIntegerField(default=0)
    written_off_cents = models.BigIntegerField(default=0)
    recovered_cents = models.BigIntegerField(default=0)
    refunded_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["loan", "lender"], name="loans_position_one_per_lender"),
            models.CheckConstraint(
                condition=Q(lent_cents__gte=F("principal_repaid_cents") + F("written_off_cents") + F("refunded_cents")),
                name="loans_position_never_repaid_beyond_lent",
            ),
        ]

    def __str__(self) -> str:
        return f"lender {self.lender_id} in loan {self.loan_id}"

    @property
    def outstanding_cents(self) -> int:
        """Principal the borrower still owes this lender (zero once written off or refunded)."""
        return self.lent_cents - self.principal_repaid_cents - self.written_off_cents - self.refunded_cents


class Installment(models.Model):
    """One row of the repayment schedule, fixed at disbursement, and what has been paid against it."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal_cents = models.BigIntegerField()
    interest_cents = models.BigIntegerField()
    fees_cents = models.BigIntegerField()
    paid_principal_cents = models.BigIntegerField(default=0)
    paid_interest_cents = models.BigIntegerField(default=0)
    paid_fees_cents = models.BigIntegerField(default=0)
    paid_on = models.DateField(null=True, blank=True, help_text="When it was paid in full.")

    class Meta:
        ordering = ["loan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="loans_installment_unique_number"),
            models.CheckConstraint(
                condition=Q(paid_principal_cents__lte=F("principal_cents"))
                & Q(paid_interest_cents__lte=F("interest_cents"))
                & Q(paid_fees_cents__lte=F("fees_cents")),
                name="loans_installment_not_overpaid",
            ),
        ]
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self) -> str:
        return f"loan {self.loan_id} installment {self.number} due {self.due_date}"

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.fees_cents

    @property
    def paid_cents(self) -> int:
        return self.paid_principal_cents + self.paid_interest_cents + self.paid_fees_cents

    @property
    def outstanding_cents(self) -> int:
        return self.total_cents - self.paid_cents


class Repayment(models.Model):
    """Money received for a loan, allocated to installments and split among the lenders in one journal."""

    class Source(models.TextChoices):
        BORROWER_CARD = "borrower_card", "Borrower by card"
        PARTNER = "partner", "Field partner's report"
        STAFF = "staff", "Platform staff"

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="payments")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    source = models.CharField(max_length=16, choices=Source.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    principal_cents = models.BigIntegerField(default=0)
    interest_cents = models.BigIntegerField(default=0)
    fees_cents = models.BigIntegerField(default=0)
    overpayment_cents = models.BigIntegerField(default=0, help_text="Held as the borrower's credit.")
    lender_interest_cents = models.BigIntegerField(default=0)
    platform_cents = models.BigIntegerField(default=0, help_text="Interest not paid to lenders, plus fees.")
    is_recovery = models.BooleanField(default=False, help_text="Received after the loan defaulted.")
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="loans_repayment_amount_positive"),
            models.CheckConstraint(
                condition=Q(
                    amount_cents=F("principal_cents") + F("interest_cents") + F("fees_cents") + F("overpayment_cents")
                ),
                name="loans_repayment_fully_allocated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount_cents} {self.currency} for loan {self.loan_id} on {self.received_on}"


class RepaymentSplit(models.Model):
    """A lender's receipt: their part of one repayment, to the cent."""

    # No single-column indexes: (repayment, lender) and (lender, repayment) below serve both lookups,
    # and every repayment inserts a row per lender, so each index costs 40 insertions.
    repayment = models.ForeignKey(Repayment, on_delete=models.PROTECT, related_name="splits", db_index=False)
    lender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="repayment_splits", db_index=False
    )
    principal_cents = models.BigIntegerField()
    interest_cents = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repayment", "lender"], name="loans_split_one_per_lender"),
        ]
        indexes = [models.Index(fields=["lender", "repayment"])]

    def __str__(self) -> str:
        return f"lender {self.lender_id}: {self.principal_cents} + {self.interest_cents}"


class LenderSettlement(models.Model):
    """A lender's principal written off when a loan defaulted (or returned when it was refunded)."""

    class Kind(models.TextChoices):
        WRITE_OFF = "write_off", "Written off at default"
        REFUND = "refund", "Refunded"

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="lender_settlements")
    lender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    principal_cents = models.BigIntegerField()
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["loan", "lender", "kind"], name="loans_settlement_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.principal_cents} for lender {self.lender_id} in loan {self.loan_id}"
