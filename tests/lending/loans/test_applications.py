"""Applying for a loan and the reviews before it is listed: who may, what is checked, what each step writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts import services as people
from lending.ledger.reconcile import reconcile
from lending.loans import books
from lending.loans.applications import loan_apply, loan_approve, loan_cancel, loan_publish, loan_reject, loan_submit
from lending.loans.errors import InvalidApplication, InvalidTransition, NotAllowed
from lending.loans.models import LenderPosition, LenderSettlement, Loan, LoanEvent
from tests.loans import START, buy, wallet_cents

pytestmark = pytest.mark.django_db

S = Loan.Status
VALID = {
    "amount_cents": 60_000,
    "currency": "USD",
    "purpose": "Buy a dairy cow",
    "sector": "agriculture",
    "repayments": 12,
}


@pytest.fixture
def direct_borrower(partner):
    """A borrower of the partner who has their own login."""
    return people.borrower_create(
        display_name="Amina K.",
        country="UG",
        partner=partner,
        email="amina@example.org",
        password="blue-mango-42",
    )


@pytest.fixture
def other_officer(db):
    other = people.field_partner_create(name="Mbale Traders", country="UG")
    return people.partner_staff_add(
        partner=other, email="other@example.org", password="green-hill-ledger-42", full_name="Otto Other"
    ).user


# --- loan_apply: a valid application ------------------------------------------------------------


def test_a_valid_application_is_a_draft_with_the_borrowers_partner_and_country(officer, borrower, partner):
    loan = loan_apply(actor=officer, borrower=borrower, **VALID)

    loan.refresh_from_db()
    assert loan.status == S.DRAFT
    assert loan.partner_id == partner.pk
    assert loan.country == "UG"
    assert loan.borrower_id == borrower.pk
    assert loan.created_by_id == officer.pk
    assert loan.amount_cents == 60_000
    assert loan.currency == "USD"
    assert loan.share_size_cents == 2_500
    assert loan.fundraising_days == 30
    assert loan.raised_cents == 0
    assert loan.fundraising_deadline is None
    assert not LoanEvent.objects.filter(loan=loan).exists()


def test_an_application_keeps_its_terms_and_strips_the_purpose(officer, borrower):
    loan = loan_apply(
        actor=officer, borrower=borrower, **{**VALID, "purpose": "  Buy a dairy cow  "}, fundraising_days=45,
        interest_method="flat", annual_interest_rate=Decimal("12"), lender_interest_rate=Decimal("2"),
        allocation_order="principal, interest, fees", country="ke",
    )  # fmt: skip

    loan.refresh_from_db()
    assert loan.purpose == "Buy a dairy cow"
    assert loan.fundraising_days == 45
    assert loan.interest_method == "flat"
    assert loan.annual_interest_rate == Decimal("12")
    assert loan.lender_interest_rate == Decimal("2")
    assert loan.country == "KE"


def test_an_application_at_the_largest_amount_is_accepted(officer, borrower):
    loan = loan_apply(actor=officer, borrower=borrower, **{**VALID, "amount_cents": 1_000_000})

    assert loan.amount_cents == 1_000_000


# --- loan_apply: each bad field -----------------------------------------------------------------

BAD_FIELDS = [
    pytest.param({"amount_cents": 0}, "amount_cents", id="amount-zero"),
    pytest.param({"amount_cents": -1}, "amount_cents", id="amount-negative"),
    pytest.param({"amount_cents": 1.5}, "amount_cents", id="amount-float"),
    pytest.param({"amount_cents": True}, "amount_cents", id="amount-bool"),
    pytest.param({"amount_cents": 60_001}, "amount_cents", id="amount-not-a-share-multiple"),
    pytest.param({"amount_cents": 1_002_500}, "amount_cents", id="amount-above-max"),
    pytest.param({"currency": "XYZ"}, "currency", id="currency-unknown"),
    pytest.param({"currency": "KES"}, "currency", id="currency-not-lent-in"),
    pytest.param({"purpose": ""}, "purpose", id="purpose-empty"),
    pytest.param({"purpose": "   "}, "purpose", id="purpose-blank"),
    pytest.param({"purpose": "x" * 201}, "purpose", id="purpose-too-long"),
    pytest.param({"sector": "fishing"}, "sector", id="sector-unknown"),
    pytest.param({"country": "UGA"}, "country", id="country-three-letters"),
    pytest.param({"fundraising_days": 91}, "fundraising_days", id="fundraising-days-91"),
    pytest.param({"repayments": 0}, "repayments", id="repayments-zero"),
    pytest.param({"repayments": 601}, "repayments", id="repayments-601"),
    pytest.param({"annual_interest_rate": -1}, "annual_interest_rate", id="rate-negative"),
    pytest.param({"interest_method": "flat", "annual_interest_rate": 101}, "annual_interest_rate", id="rate-above-100"),
    pytest.param(
        {"interest_method": "flat", "annual_interest_rate": Decimal("10"), "lender_interest_rate": Decimal("12")},
        "lender_interest_rate",
        id="lender-rate-above-borrower-rate",
    ),
    pytest.param({"allocation_order": "principal,fees"}, "allocation_order", id="allocation-order-incomplete"),
    pytest.param({"colour": "red"}, "colour", id="unknown-term"),
    pytest.param({"grace_on_principal_periods": 12}, "grace_on_principal_periods", id="grace-not-below-repayments"),
    pytest.param({"grace_on_interest_periods": 13}, "grace_on_interest_periods", id="interest-grace-too-long"),
    pytest.param({"annual_interest_rate": Decimal("5")}, "annual_interest_rate", id="rate-without-method"),
]


@pytest.mark.parametrize(("change", "field"), BAD_FIELDS)
def test_a_bad_field_is_refused_by_name_and_writes_no_loan(officer, borrower, change, field):
    with pytest.raises(InvalidApplication) as refused:
        loan_apply(actor=officer, borrower=borrower, **{**VALID, **change})

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert not Loan.objects.exists()


def test_zero_fundraising_days_is_refused(officer, borrower):
    with pytest.raises(InvalidApplication) as refused:
        loan_apply(actor=officer, borrower=borrower, **VALID, fundraising_days=0)

    assert refused.value.field == "fundraising_days"
    assert not Loan.objects.exists()


def test_ninety_fundraising_days_is_the_longest_allowed(officer, borrower):
    loan = loan_apply(actor=officer, borrower=borrower, **VALID, fundraising_days=90)

    assert loan.fundraising_days == 90


# --- loan_apply: who may apply ------------------------------------------------------------------


def test_a_borrower_with_a_login_may_apply_for_themself(direct_borrower, partner):
    loan = loan_apply(actor=direct_borrower.user, borrower=direct_borrower, **VALID)

    assert loan.created_by_id == direct_borrower.user_id
    assert loan.partner_id == partner.pk


def test_staff_of_the_borrowers_partner_may_apply_for_them(officer, borrower):
    loan = loan_apply(actor=officer, borrower=borrower, **VALID)

    assert loan.created_by_id == officer.pk


def test_platform_staff_may_apply_for_any_borrower(staff, borrower):
    loan = loan_apply(actor=staff, borrower=borrower, **VALID)

    assert loan.created_by_id == staff.pk


def test_a_lender_may_not_apply_for_a_borrower(lender, borrower):
    with pytest.raises(NotAllowed):
        loan_apply(actor=lender, borrower=borrower, **VALID)

    assert not Loan.objects.exists()


def test_staff_of_another_partner_may_not_apply_for_a_borrower(other_officer, borrower):
    with pytest.raises(NotAllowed):
        loan_apply(actor=other_officer, borrower=borrower, **VALID)

    assert not Loan.objects.exists()


def test_one_borrower_may_not_apply_for_another(direct_borrower, borrower):
    with pytest.raises(NotAllowed):
        loan_apply(actor=direct_borrower.user, borrower=borrower, **VALID)

    assert not Loan.objects.exists()


def test_permission_is_checked_before_the_fields(lender, borrower):
    with pytest.raises(NotAllowed):
        loan_apply(actor=lender, borrower=borrower, **{**VALID, "amount_cents": 0})


# --- submit, approve, reject, publish ---------------------------------------------------------


def test_submit_then_approve_moves_the_loan_with_an_event_each(apply, officer, staff):
    loan = apply()

    loan_submit(loan=loan, actor=officer, on=START)
    approved = loan_approve(loan=loan, actor=staff, reason="looks good", on=date(2026, 1, 6))

    assert approved.status == S.APPROVED
    events = [(e.from_status, e.to_status, e.actor_id, e.reason, e.business_date) for e in loan.events.all()]
    assert events == [
        (S.DRAFT, S.SUBMITTED, officer.pk, "", START),
        (S.SUBMITTED, S.APPROVED, staff.pk, "looks good", date(2026, 1, 6)),
    ]


def test_a_borrower_may_submit_their_own_application(direct_borrower):
    loan = loan_apply(actor=direct_borrower.user, borrower=direct_borrower, **VALID)

    assert loan_submit(loan=loan, actor=direct_borrower.user, on=START).status == S.SUBMITTED


def test_a_lender_may_not_submit_an_application(apply, lender):
    loan = apply()

    with pytest.raises(NotAllowed):
        loan_submit(loan=loan, actor=lender, on=START)

    loan.refresh_from_db()
    assert loan.status == S.DRAFT


def test_a_lender_may_not_approve_a_loan(apply, officer, lender):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)

    with pytest.raises(NotAllowed):
        loan_approve(loan=loan, actor=lender, on=START)

    loan.refresh_from_db()
    assert loan.status == S.SUBMITTED
    assert loan.events.count() == 1


def test_a_borrower_may_not_approve_their_own_loan(direct_borrower):
    loan = loan_apply(actor=direct_borrower.user, borrower=direct_borrower, **VALID)
    loan_submit(loan=loan, actor=direct_borrower.user, on=START)

    with pytest.raises(NotAllowed):
        loan_approve(loan=loan, actor=direct_borrower.user, on=START)

    loan.refresh_from_db()
    assert loan.status == S.SUBMITTED


def test_staff_of_another_partner_may_not_approve(apply, officer, other_officer):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)

    with pytest.raises(NotAllowed):
        loan_approve(loan=loan, actor=other_officer, on=START)


def test_a_draft_cannot_be_approved_before_it_is_submitted(apply, staff):
    loan = apply()

    with pytest.raises(InvalidTransition):
        loan_approve(loan=loan, actor=staff, on=START)

    loan.refresh_from_db()
    assert loan.status == S.DRAFT


def test_a_rejection_records_its_reason_and_ends_the_loan(apply, officer, staff):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)

    rejected = loan_reject(loan=loan, actor=staff, reason="no repayment capacity", on=date(2026, 1, 7))

    assert rejected.status == S.REJECTED
    assert rejected.ended_on == date(2026, 1, 7)
    event = loan.events.last()
    assert (event.to_status, event.reason, event.actor_id) == (S.REJECTED, "no repayment capacity", staff.pk)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_rejection_without_a_reason_is_refused(apply, officer, staff, reason):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)

    with pytest.raises(InvalidApplication) as refused:
        loan_reject(loan=loan, actor=staff, reason=reason, on=START)

    assert refused.value.field == "reason"
    loan.refresh_from_db()
    assert loan.status == S.SUBMITTED
    assert loan.events.count() == 1


def test_publishing_lists_the_loan_until_fundraising_days_after_the_day(apply, officer):
    loan = apply(fundraising_days=45)
    loan_submit(loan=loan, actor=officer, on=START)
    loan_approve(loan=loan, actor=officer, on=START)

    listed = loan_publish(loan=loan, actor=officer, on=date(2026, 1, 10))

    loan.refresh_from_db()
    assert listed.status == loan.status == S.FUNDRAISING
    assert loan.fundraising_deadline == date(2026, 2, 24)
    assert loan.events.last().business_date == date(2026, 1, 10)


def test_publishing_with_the_default_thirty_days(apply, officer):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)
    loan_approve(loan=loan, actor=officer, on=START)

    loan_publish(loan=loan, actor=officer, on=START)

    loan.refresh_from_db()
    assert loan.fundraising_deadline == date(2026, 2, 4)


def test_a_submitted_loan_cannot_be_published_before_approval(apply, officer):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)

    with pytest.raises(InvalidTransition):
        loan_publish(loan=loan, actor=officer, on=START)

    loan.refresh_from_db()
    assert loan.status == S.SUBMITTED
    assert loan.fundraising_deadline is None


# --- cancel -----------------------------------------------------------------------------------


def test_the_applicant_may_cancel_a_draft(apply, officer):
    loan = apply()

    cancelled = loan_cancel(loan=loan, actor=officer, reason="borrower changed their mind", on=START)

    assert cancelled.status == S.CANCELLED
    assert cancelled.ended_on == START
    assert loan.events.get().reason == "borrower changed their mind"


def test_a_borrower_may_cancel_their_own_submitted_application(direct_borrower):
    loan = loan_apply(actor=direct_borrower.user, borrower=direct_borrower, **VALID)
    loan_submit(loan=loan, actor=direct_borrower.user, on=START)

    cancelled = loan_cancel(loan=loan, actor=direct_borrower.user, reason="found the money elsewhere", on=START)

    assert cancelled.status == S.CANCELLED


def test_a_lender_may_not_cancel_an_application(apply, lender):
    loan = apply()

    with pytest.raises(NotAllowed):
        loan_cancel(loan=loan, actor=lender, reason="no", on=START)

    loan.refresh_from_db()
    assert loan.status == S.DRAFT


@pytest.mark.parametrize("reason", ["", "  "])
def test_a_cancellation_without_a_reason_is_refused(apply, officer, reason):
    loan = apply()

    with pytest.raises(InvalidApplication) as refused:
        loan_cancel(loan=loan, actor=officer, reason=reason, on=START)

    assert refused.value.field == "reason"
    loan.refresh_from_db()
    assert loan.status == S.DRAFT
    assert not loan.events.exists()


def test_the_partner_may_not_cancel_a_loan_lenders_have_started_funding(listed, officer, make_lenders):
    (lender,) = make_lenders(1, 10_000)
    loan = listed()
    buy(loan, [(lender, 5_000)])

    with pytest.raises(NotAllowed):
        loan_cancel(loan=loan, actor=officer, reason="withdrawn", on=START)

    loan.refresh_from_db()
    assert loan.status == S.FUNDRAISING
    assert loan.raised_cents == 5_000
    assert wallet_cents(lender) == 5_000


def test_platform_staff_cancelling_during_fundraising_return_every_share_exactly(listed, staff, make_lenders):
    lenders = make_lenders(3, 50_000)
    loan = listed()
    buy(loan, [(lenders[0], 2_500), (lenders[1], 10_000), (lenders[0], 5_000), (lenders[2], 25_000)])
    assert [wallet_cents(x) for x in lenders] == [42_500, 40_000, 25_000]

    cancelled = loan_cancel(loan=loan, actor=staff, reason="borrower withdrew", on=date(2026, 1, 12))

    assert cancelled.status == S.CANCELLED
    assert cancelled.ended_on == date(2026, 1, 12)
    assert [wallet_cents(x) for x in lenders] == [50_000, 50_000, 50_000]
    assert books.escrow(loan).balance_cents == 0
    refunds = {s.lender_id: s.principal_cents for s in LenderSettlement.objects.filter(loan=loan, kind="refund")}
    assert refunds == {lenders[0].pk: 7_500, lenders[1].pk: 10_000, lenders[2].pk: 25_000}
    positions = {p.lender_id: (p.lent_cents, p.refunded_cents) for p in LenderPosition.objects.filter(loan=loan)}
    assert positions == {
        lenders[0].pk: (7_500, 7_500),
        lenders[1].pk: (10_000, 10_000),
        lenders[2].pk: (25_000, 25_000),
    }
    assert all(p.outstanding_cents == 0 for p in LenderPosition.objects.filter(loan=loan))
    assert reconcile().ok


def test_cancelling_a_listed_loan_nobody_funded_moves_no_money(listed, staff):
    loan = listed()

    cancelled = loan_cancel(loan=loan, actor=staff, reason="duplicate listing", on=START)

    assert cancelled.status == S.CANCELLED
    assert not LenderSettlement.objects.filter(loan=loan).exists()
    assert books.escrow(loan).balance_cents == 0
    assert reconcile().ok


def test_a_funded_loan_cannot_be_cancelled(listed, staff, make_lenders):
    (lender,) = make_lenders(1, 100_000)
    loan = listed()
    buy(loan, [(lender, 60_000)])

    with pytest.raises(InvalidTransition):
        loan_cancel(loan=loan, actor=staff, reason="too late", on=START)

    loan.refresh_from_db()
    assert loan.status == S.FUNDED
    assert wallet_cents(lender) == 40_000
    assert books.escrow(loan).balance_cents == 60_000
    assert not LenderSettlement.objects.exists()
