"""The callers of the API's loan tests whose borrower logs in: imported as fixtures by the modules that use them.

`borrower` here replaces tests/loans.py's (which has no login) in the importing module only, so the loans
that `apply`, `listed` and `disbursed` make there belong to a borrower who can call the API.
"""

from __future__ import annotations

import pytest

from accounts import services as people
from accounts.models import BorrowerProfile, FieldPartner, User
from tests.factories import LenderFactory


@pytest.fixture
def borrower(partner: FieldPartner) -> BorrowerProfile:
    return people.borrower_create(display_name="Amina K.", country="UG", partner=partner, email="amina@example.org",
                                  password="blue-mango-42")  # fmt: skip


@pytest.fixture
def users(borrower: BorrowerProfile, partner: FieldPartner, officer: User, staff: User) -> dict[str, User | None]:
    """The borrower, another of the partner's borrowers, a lender, the officer, another partner's officer, staff."""
    other_partner = people.field_partner_create(name="Mbale Traders", country="UG")
    return {
        "borrower": borrower.user,
        "other_borrower": people.borrower_create(display_name="Brenda", country="UG", partner=partner,
                                                 email="brenda@example.org", password="red-papaya-42").user,
        "lender": LenderFactory(),
        "officer": officer,
        "other_officer": people.partner_staff_add(partner=other_partner, email="other@example.org",
                                                  password="green-hill-ledger-42", full_name="Otto Other").user,
        "staff": staff,
    }  # fmt: skip
