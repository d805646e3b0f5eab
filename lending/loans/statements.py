"""A wallet statement's lines as rows (with the loan each concerns) and as CSV: what the API and the site export.

Both faces call these, so the API's CSV and the dashboard's download are the same file, with the same
guard against spreadsheet formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from lending.ledger.chart import Side
from lending.ledger.models import LedgerAccount
from lending.ledger.selectors import StatementLine

COLUMNS = ("effective_at", "kind", "description", "amount_cents", "currency", "balance_cents", "journal", "loan")


def _loan_of(line: StatementLine) -> int | None:
    """The loan a line concerns: the journal's metadata says, or else a loan account on the other side."""
    named = line.metadata.get("loan")
    if isinstance(named, int) or (isinstance(named, str) and named.isdigit()):
        return int(named)
    ref, _, rest = line.counterparty_code.partition(":")
    number = rest.split(":", 1)[0]
    return int(number) if ref == "loan" and number.isdigit() else None


def statement_row(account: LedgerAccount, line: StatementLine) -> dict[str, Any]:
    """One line, signed from the account holder's side: money in is positive."""
    signed = line.credit_cents - line.debit_cents
    return {
        "effective_at": timezone.localtime(line.effective_at).isoformat(),
        "kind": line.kind,
        "description": line.description,
        "amount_cents": signed if account.normal_side == Side.CREDIT else -signed,
        "currency": account.currency,
        "balance_cents": line.balance_cents,
        "journal": line.journal_id,
        "loan": _loan_of(line),
    }


def _safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is quoted (CSV injection); numbers are left alone."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def statement_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as CSV, one header row first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_safe_cell(row[name]) for name in COLUMNS])
    return out.getvalue()
