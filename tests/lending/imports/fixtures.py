"""The compact Kiva fixtures in tests/data/kiva/, derived from the team's shared copy of the real files.

Names, descriptions, uses, towns, images, tags, comments and every other free text are left out;
what remains is what the importers read. `python -m tests.lending.imports.fixtures` rewrites the
fixtures from ../shared; test_fixtures.py checks the committed ones still equal that derivation.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "kiva"
SHARED = ROOT.parent / "shared" / "data" / "kiva"
SHARED_PAGE = SHARED / "kiva_api_snapshot_2015-01-05" / "loans_page1.json"
SHARED_CSV = SHARED / "kaggle_kiva_loans_sample_10k.csv"
SNAPSHOT = DATA / "kiva_api_snapshot_2015-01-05_loans.json.gz"
CSV_SUBSET = DATA / "kaggle_kiva_loans_subset.csv.gz"
BROKEN = DATA / "kiva_broken_records.json"

LOAN_KEYS = (
    "id", "status", "funded_amount", "paid_amount", "activity", "sector", "partner_id", "posted_date",
    "planned_expiration_date", "funded_date", "paid_date", "loan_amount", "lender_count",
)  # fmt: skip
TERM_KEYS = ("disbursal_date", "repayment_interval", "repayment_term", "loan_amount")
PAYMENT_KEYS = ("amount", "processed_date", "settlement_date", "payment_id")


def strip_loan(loan: dict[str, Any]) -> dict[str, Any]:
    """A snapshot loan with only the fields the importer reads: no names, no free text."""
    terms = loan.get("terms") or {}
    return {
        **{key: loan.get(key) for key in LOAN_KEYS},
        "location": {"country_code": (loan.get("location") or {}).get("country_code")},
        "borrowers": [{"gender": b.get("gender")} for b in loan.get("borrowers") or []],
        "terms": {
            **{key: terms.get(key) for key in TERM_KEYS},
            "scheduled_payments": [
                {"due_date": s.get("due_date"), "amount": s.get("amount")}
                for s in terms.get("scheduled_payments") or []
            ],
        },
        "payments": [{key: p.get(key) for key in PAYMENT_KEYS} for p in loan.get("payments") or []],
    }


def derive_snapshot(page: Path = SHARED_PAGE) -> bytes:
    with page.open(encoding="utf-8") as f:
        data = json.load(f)
    text = json.dumps({"header": data["header"], "loans": [strip_loan(loan) for loan in data["loans"]]})
    return gzip.compress(text.encode(), mtime=0)


def _pick(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every special case of the sample, and an even spread of ordinary rows with few lenders (for speed)."""

    def money(row: dict[str, str], key: str) -> float:
        return float(row[key])

    chosen: set[str] = set()
    groups = [
        [r for r in rows if money(r, "funded_amount") % 25],  # Kiva's $5 lending: part-funded in $5 steps
        [r for r in rows if money(r, "loan_amount") > 10_000],  # over the platform's largest loan
        [r for r in rows if money(r, "funded_amount") == 0][:10],
        [r for r in rows if int(r["lender_count"]) > money(r, "funded_amount") // 25][:8],  # $5 shares
        [r for r in rows if r["repayment_interval"] in ("weekly", "bullet") and int(r["lender_count"]) <= 20][:10],
        [r for r in rows if not r["partner_id"]][:5],
        [r for r in rows if 0 < money(r, "funded_amount") < money(r, "loan_amount")][:10],
        [r for r in rows[::100] if int(r["lender_count"]) <= 25],
    ]
    for group in groups:
        chosen.update(r["id"] for r in group)
    return [r for r in rows if r["id"] in chosen]


def derive_csv(sample: Path = SHARED_CSV) -> bytes:
    """The subset, with only the columns the importer reads; every other row's times get Kaggle's "+00:00"."""
    from lending.imports.kiva_csv import COLUMNS  # here, so `python -m` can set Django up first

    with sample.open(encoding="utf-8", newline="") as f:
        rows = _pick(list(csv.DictReader(f)))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for index, row in enumerate(rows):
        if index % 2 == 0:
            row = {k: f"{v}+00:00" if k.endswith("_time") and v else v for k, v in row.items()}
        writer.writerow(row)
    return gzip.compress(buffer.getvalue().encode(), mtime=0)


def _compact_loans() -> dict[int, dict[str, Any]]:
    with gzip.open(SNAPSHOT, "rt", encoding="utf-8") as f:
        return {loan["id"]: loan for loan in json.load(f)["loans"]}


def derive_broken() -> str:
    """A small snapshot of broken records (and two good ones), each with the fault its id's comment names."""
    loans = _compact_loans()
    with_schedule = next(
        loan for loan in loans.values() if loan["status"] == "paid" and loan["terms"]["scheduled_payments"]
    )

    def twin(source: dict[str, Any], new_id: int, **changes: Any) -> dict[str, Any]:
        record = json.loads(json.dumps(source))
        record["id"] = new_id
        record.update(changes)
        return record

    paid = loans[84]
    bad_schedule = twin(with_schedule, 9000011)
    bad_schedule["terms"]["scheduled_payments"] = bad_schedule["terms"]["scheduled_payments"][:-1]
    late_disbursal = twin(paid, 9000010)
    late_disbursal["terms"]["disbursal_date"] = "2016-01-01T00:00:00Z"
    negative = twin(paid, 9000008)
    negative["payments"][0]["amount"] = -30
    no_amount = twin(paid, 9000004)
    del no_amount["loan_amount"]
    records: list[Any] = [
        twin(paid, 9000001),  # good: paid
        twin(loans[333], 9000002),  # good: refunded
        twin(paid, 9000003, status=""),  # status: empty
        no_amount,  # loan_amount: missing
        twin(paid, 9000005, loan_amount=512.5, funded_amount=512.5),  # not whole shares
        twin(paid, 9000006, posted_date="2006-13-45T00:00:00Z"),  # posted_date: not a date
        twin(paid, 9000007, sector="Space Travel"),  # sector: unknown
        negative,  # payments.amount: negative
        twin(paid, 9000009, funded_amount=400),  # funded_amount: short of the amount on a paid loan
        late_disbursal,  # terms.disbursal_date: after the snapshot
        bad_schedule,  # terms.scheduled_payments: do not sum to the amount
        # borrower_count: the services refuse 101, after a new partner was made for it; 9000014 then uses that partner
        twin(paid, 9000012, borrowers=[{"gender": "F"}] * 101, partner_id=77),
        twin(paid, 9000013, status="teleported"),  # status: unknown
        twin(paid, 9000001),  # the first record again: already imported
        42,  # record: not a JSON object
        twin(paid, 9000014, partner_id=77),  # good: the partner made for 9000012 is still there
    ]
    header = {"total": len(records), "page": 1, "date": "2015-01-05T18:38:57Z", "page_size": len(records)}
    return json.dumps({"header": header, "loans": records}, indent=1) + "\n"


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    SNAPSHOT.write_bytes(derive_snapshot())
    CSV_SUBSET.write_bytes(derive_csv())
    BROKEN.write_text(derive_broken(), encoding="utf-8")


if __name__ == "__main__":
    main()
