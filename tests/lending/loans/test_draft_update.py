"""loan_draft_update: whoever applied edits a draft, checked by the same rules as loan_apply; a submitted loan is
fixed; a new borrower must be one the editor may apply for, and brings their field partner."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts import services as people
from lending.loans.applications import NotADraft, loan_apply, loan_draft_update, loan_submit
from lending.loans.errors import InvalidApplication, InvalidTransition, NotAllowed
from lending.loans.models import Loan
from tests.loans import START

pytestmark = pytest.mark.django_db
S = Loan.Status


@pytest.fixture
def other_officer(db):
    other = people.field_partner_create(name="Mbale Traders", country="UG")
    return people.partner_staff_add(
        partner=other, email="other@example.org", password="green-hill-ledger-42", full_name="Otto Other"
    ).user


def _fields(loan: Loan) -> tuple:
    loan.refresh_from_db()
    return (loan.amount_cents, loan.purpose, loan.sector, loan.repayments, loan.country, loan.annual_interest_rate)


def test_an_officer_edits_a_draft_and_only_what_was_sent_changes(apply, officer):
    loan = apply()

    updated = loan_draft_update(loan=loan, actor=officer, amount_cents=50_000, purpose="  Two goats  ",
                                repayment_frequency="weeks", country="ke")  # fmt: skip

    loan.refresh_from_db()
    assert updated.pk == loan.pk
    assert (loan.amount_cents, loan.purpose, loan.repayment_frequency, loan.country) == (50_000, "Two goats", "weeks",
                                                                                       "KE")  # fmt: skip
    assert (loan.sector, loan.repayments, loan.status) == ("agriculture", 12, S.DRAFT)


def test_a_borrower_with_a_login_edits_their_own_draft(partner):
    amina = people.borrower_create(display_name="Amina K.", country="UG", partner=partner, email="amina@example.org",
                                   password="blue-mango-42")  # fmt: skip
    loan = loan_apply(actor=amina.user, borrower=amina, amount_cents=25_000, currency="USD", purpose="Stock",
                      sector="retail", repayments=6)  # fmt: skip

    loan_draft_update(loan=loan, actor=amina.user, repayments=8, interest_method="flat",
                      annual_interest_rate=Decimal("10"))  # fmt: skip

    loan.refresh_from_db()
    assert (loan.repayments, loan.interest_method, loan.annual_interest_rate) == (8, "flat", Decimal("10"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_cents": 60_001}, "amount_cents"),
        ({"amount_cents": "lots"}, "amount_cents"),
        ({"currency": "KES"}, "currency"),
        ({"purpose": "   "}, "purpose"),
        ({"purpose": 7}, "purpose"),
        ({"sector": "fishing"}, "sector"),
        ({"country": "UGA"}, "country"),
        ({"fundraising_days": 91}, "fundraising_days"),
        ({"repayments": 0}, "repayments"),
        ({"borrower_count": 101}, "borrower_count"),
        ({"borrower_gender": "other"}, "borrower_gender"),
        ({"annual_interest_rate": Decimal("5")}, "annual_interest_rate"),  # a rate without an interest method
        ({"grace_on_principal_periods": 12}, "grace_on_principal_periods"),
        ({"status": "approved"}, "status"),
        ({"raised_cents": 60_000}, "raised_cents"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_the_draft_is_unchanged(apply, officer, change, field):
    loan = apply()
    before = _fields(loan)

    with pytest.raises(InvalidApplication) as refused:
        loan_draft_update(loan=loan, actor=officer, **change)

    assert refused.value.field == field
    assert _fields(loan) == before
    assert loan.status == S.DRAFT


def test_a_submitted_application_cannot_be_edited(apply, officer):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)

    with pytest.raises(NotADraft) as refused:
        loan_draft_update(loan=loan, actor=officer, amount_cents=50_000)

    assert isinstance(refused.value, InvalidTransition)
    assert str(refused.value) == f"loan {loan.pk} is submitted: only a draft can be edited"
    assert _fields(loan)[0] == 60_000


@pytest.mark.parametrize("who", ["lender", "other_officer"])
def test_only_whoever_may_apply_for_the_borrower_may_edit(apply, lender, other_officer, who):
    loan = apply()
    actor = {"lender": lender, "other_officer": other_officer}[who]

    with pytest.raises(NotAllowed):
        loan_draft_update(loan=loan, actor=actor, amount_cents=50_000)

    assert _fields(loan)[0] == 60_000


def test_a_new_borrower_must_be_one_the_editor_may_apply_for_and_brings_their_partner(apply, officer, staff):
    loan = apply()
    other = people.field_partner_create(name="Kisumu Fish", country="KE")
    theirs = people.borrower_create(display_name="Otieno", country="KE", partner=other)

    with pytest.raises(NotAllowed):
        loan_draft_update(loan=loan, actor=officer, borrower=theirs)
    loan_draft_update(loan=loan, actor=staff, borrower=theirs)

    loan.refresh_from_db()
    assert (loan.borrower_id, loan.partner_id) == (theirs.pk, other.pk)
