"""The demo seed: built through the services, idempotent, and consistent with the ledger."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import BorrowerProfile, FieldPartner, PartnerStaff, Role, User
from lending.ledger.chart import AccountType
from lending.ledger.models import Journal, LedgerAccount, Transfer
from lending.ledger.reconcile import reconcile
from lending.ledger.selectors import lender_wallet_find
from lending.loans.models import LenderPosition, Loan
from seeds.demo import DEMO_PASSWORD, build_demo

DEMO_EMAILS = [
    "admin@demo.lend",
    "amara@demo.lend",
    "bruno@demo.lend",
    "chen@demo.lend",
    "officer@demo.lend",
    "farida@demo.lend",
]
DEPOSITS = {"amara@demo.lend": 50_000, "bruno@demo.lend": 25_000, "chen@demo.lend": 100_000}


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "journals": Journal.objects.count(),
        "transfers": Transfer.objects.count(),
        "accounts": LedgerAccount.objects.count(),
        "partners": FieldPartner.objects.count(),
        "partner_staff": PartnerStaff.objects.count(),
        "borrowers": BorrowerProfile.objects.count(),
    }


@pytest.mark.django_db
def test_build_demo_creates_each_person_and_deposit_once():
    build_demo()

    assert _counts() == {
        "users": 6,
        "journals": 11,  # 3 deposits, 5 share purchases, a disbursement, 2 repayments
        "transfers": 17,
        "accounts": 11,  # the fundraising loan has an escrow; its receivable opens when it is disbursed
        "partners": 1,
        "partner_staff": 1,
        "borrowers": 1,
    }
    assert sorted(User.objects.values_list("email", flat=True)) == sorted(DEMO_EMAILS)
    assert sorted(Journal.objects.values_list("kind", flat=True)) == sorted(
        ["deposit"] * 3 + ["share_purchase"] * 5 + ["disbursement"] + ["repayment"] * 2
    )
    assert sorted(Loan.objects.values_list("status", "raised_cents")) == [
        ("fundraising", 7_500),
        ("paying_back", 30_000),
    ]


@pytest.mark.django_db
def test_build_demo_twice_changes_nothing():
    first_logins = build_demo()
    after_first = _counts()
    journal_ids = sorted(Journal.objects.values_list("pk", flat=True))

    second_logins = build_demo()

    assert _counts() == after_first
    assert after_first["users"] == 6
    assert after_first["journals"] == 11
    assert Loan.objects.count() == 2
    assert sorted(Journal.objects.values_list("pk", flat=True)) == journal_ids
    assert second_logins == first_logins


@pytest.mark.django_db
def test_build_demo_wallets_hold_the_deposit_less_what_was_lent_plus_what_came_back():
    build_demo()
    build_demo()

    expected = {"amara@demo.lend": 50_000 - 20_000 + 5_000, "bruno@demo.lend": 25_000 - 12_500 + 3_333,
                "chen@demo.lend": 100_000 - 5_000 + 1_667}  # fmt: skip
    for email, cents in expected.items():
        user = User.objects.get(email=email)
        wallet = lender_wallet_find(user_id=user.pk, currency="USD")
        assert wallet is not None, email
        assert wallet.type == AccountType.LENDER_WALLET
        assert wallet.holder == user
        assert wallet.balance_cents == cents, email
        positions = LenderPosition.objects.filter(lender=user)
        lent = sum(p.lent_cents for p in positions)
        repaid = sum(p.principal_repaid_cents for p in positions)
        assert wallet.balance_cents == DEPOSITS[email] - lent + repaid
    cash = LedgerAccount.objects.get(type=AccountType.PROCESSOR_CASH, currency="USD")
    assert cash.balance_cents == 175_000 + 10_000  # deposits plus two repayments received


@pytest.mark.django_db
def test_build_demo_gives_each_person_their_role():
    build_demo()

    roles = dict(User.objects.values_list("email", "role"))
    assert roles == {
        "admin@demo.lend": Role.PLATFORM_STAFF,
        "amara@demo.lend": Role.LENDER,
        "bruno@demo.lend": Role.LENDER,
        "chen@demo.lend": Role.LENDER,
        "officer@demo.lend": Role.PARTNER_STAFF,
        "farida@demo.lend": Role.BORROWER,
    }
    admin = User.objects.get(email="admin@demo.lend")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    partner = FieldPartner.objects.get()
    assert partner.name == "Lake Victoria Microfinance (demo)"
    assert PartnerStaff.objects.get().partner == partner
    assert BorrowerProfile.objects.get().partner == partner
    assert all(user.check_password(DEMO_PASSWORD) for user in User.objects.all())


@pytest.mark.django_db
def test_ledger_reconciles_after_the_demo():
    build_demo()
    build_demo()

    report = reconcile()

    assert report.violations == []
    assert report.ok is True
    assert (report.accounts, report.journals, report.transfers) == (11, 11, 17)


@pytest.mark.django_db
def test_seed_demo_command_prints_every_login_and_the_password():
    out = StringIO()

    call_command("seed_demo", "--loans", "0", stdout=out)  # the people only; the portfolio is tested beside

    text = out.getvalue()
    assert f"password for all: {DEMO_PASSWORD}" in text
    assert "lend-a-hand-demo" in text
    for email in DEMO_EMAILS:
        assert email in text
    assert "wallet funded with 500 USD" in text
    assert User.objects.count() == 6
