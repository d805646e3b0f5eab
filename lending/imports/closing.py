"""After an import: bring the books to the snapshot's date, so Kiva's outcomes and ours are compared on one day.

The close of business is the only place loans default, so imported loans meet the same rule as
live ones: `advance_to` the snapshot's date. A database that never closed a day closes just that
date (advance_to's own rule: catching up from nothing is one close). A database whose books are
already closed past it cannot close that date again; there the default rule runs per imported loan
as of the snapshot's date, which is what the close's default step would have done to it.
"""

from __future__ import annotations

from datetime import date

from lending.imports.models import ImportedRecord
from lending.jobs.close import advance_to, last_closed
from lending.loans.default import loan_default_if_due
from lending.loans.models import Loan

CHUNK = 500


def close_through(target: date, *, batches: list[str]) -> str:
    """Close the books up to `target` (or apply the default rule per loan); says what it did, in a sentence."""
    latest = last_closed()
    if latest is None or latest < target:
        results = advance_to(target=target)
        ran = [r for r in results if r.ran]
        first = results[0].date if results else target
        defaulted = sum(int(r.steps.get("classify_defaults", {}).get("rows", 0)) for r in ran)
        span = f"{target}" if first == target else f"{first} to {target}"
        return f"closed business date(s) {span} ({len(ran)} close(s) ran): {defaulted} loan(s) defaulted"
    defaulted = 0
    records = ImportedRecord.objects.filter(kind=ImportedRecord.Kind.LOAN, batch__in=batches)
    loan_ids = records.values_list("object_id", flat=True).order_by("object_id")
    paying = Loan.objects.filter(status=Loan.Status.PAYING_BACK)
    for start in range(0, loan_ids.count(), CHUNK):
        for loan in paying.filter(pk__in=list(loan_ids[start : start + CHUNK])).only("pk"):
            defaulted += loan_default_if_due(loan=loan, as_of=target)
    return (
        f"business days up to {latest} were already closed, so {target} cannot be closed again: applied the "
        f"default rule to each imported loan as of {target} instead: {defaulted} loan(s) defaulted"
    )
