"""Closing lenders' positions early: what each got back (refund) or lost (write-off), kept per lender."""

from __future__ import annotations

from collections.abc import Sequence

from lending.db import add_to_columns
from lending.ledger.models import Journal
from lending.loans.models import LenderPosition, LenderSettlement, Loan

COLUMN = {LenderSettlement.Kind.REFUND: "refunded_cents", LenderSettlement.Kind.WRITE_OFF: "written_off_cents"}


def settle_positions(
    *, loan: Loan, journal: Journal, kind: LenderSettlement.Kind, amounts: Sequence[tuple[LenderPosition, int]]
) -> None:
    """Record each lender's settlement and close that much principal of their position, set-based."""
    LenderSettlement.objects.bulk_create(
        [
            LenderSettlement(loan=loan, lender_id=p.lender_id, kind=kind, principal_cents=cents, journal=journal)
            for p, cents in amounts
        ]
    )
    add_to_columns(LenderPosition, [COLUMN[kind]], [(p.pk, cents) for p, cents in amounts])
