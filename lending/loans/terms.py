"""A loan's repayment terms as the schedule engine's input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from lending.loans.models import Loan
from lending.money import minor_exponent
from lending.schedules import (
    Amortization,
    DayCount,
    Frequency,
    InstallmentRounding,
    InterestMethod,
    ScheduleTerms,
)


def schedule_terms(loan: Loan, *, disbursement_date: date, first_repayment_date: date | None = None) -> ScheduleTerms:
    explicit = tuple(
        (disbursement_date + timedelta(days=int(row["due_in_days"])), int(row["principal_cents"]))
        for row in loan.irregular_schedule
    )
    return ScheduleTerms(
        principal=loan.amount_cents,
        minor_exponent=minor_exponent(loan.currency),
        repayments=len(explicit) or loan.repayments,
        disbursement_date=disbursement_date,
        repayment_every=loan.repayment_every,
        repayment_frequency=Frequency(loan.repayment_frequency),
        bullet=loan.bullet,
        interest_method=InterestMethod(loan.interest_method),
        amortization=Amortization(loan.amortization),
        annual_interest_rate=Decimal(loan.annual_interest_rate),
        day_count=DayCount(loan.day_count),
        first_repayment_date=first_repayment_date,
        grace_on_principal_periods=loan.grace_on_principal_periods,
        grace_on_interest_periods=loan.grace_on_interest_periods,
        installment_multiple_of=loan.installment_multiple_of_cents,
        installment_rounding=InstallmentRounding(loan.installment_rounding),
        explicit=explicit,
    )
