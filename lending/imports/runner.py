"""One record at a time: skip it if an earlier run imported it, plan it, import it, or report why not."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError

from lending.imports.cast import Cast
from lending.imports.loans import loan_import
from lending.imports.models import ImportedRecord
from lending.imports.plans import LoanPlan, Malformed
from lending.imports.summary import ImportSummary
from lending.ledger.errors import LedgerError
from lending.loans.errors import LoanError
from lending.money import MoneyError

# What the services raise when they refuse a loan: reported and skipped, the loan's transaction rolled back.
# Anything else (a lost database, a bug) stops the run; what was committed stays, and a re-run resumes.
REFUSALS = (LoanError, LedgerError, MoneyError, ValidationError)


def refusal(exc: Exception) -> str:
    """A service's refusal as one line that starts with the field, like Malformed's."""
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        return f"{field}: refused: {' '.join(messages)}"
    field = getattr(exc, "field", None) or "loan"
    text = str(exc)
    return text if text.startswith(f"{field}:") else f"{field}: refused: {text}"


def import_record(
    *, external_id: str, plan: Callable[[], LoanPlan], cast: Cast, batch: str, summary: ImportSummary
) -> str | None:
    """Import one record unless already imported; returns the line to report when it is skipped."""
    done = ImportedRecord.objects.filter(source=cast.source, kind=ImportedRecord.Kind.LOAN, external_id=external_id)
    if done.exists():
        summary.already += 1
        return None
    try:
        summary.add(loan_import(plan=plan(), cast=cast, batch=batch))
    except Malformed as exc:
        reason = str(exc)
    except REFUSALS as exc:
        reason = refusal(exc)
    else:
        return None
    summary.skip(external_id, reason)
    return f"skipped Kiva loan {external_id}: {reason}"
