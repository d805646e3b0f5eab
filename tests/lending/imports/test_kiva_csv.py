"""Kaggle's kiva_loans.csv: the committed subset imported once, and the whole shared sample planned row by row.

The subset's expected figures are counted here from the fixture with the csv module; the whole
sample's are the data's README's (10,000 rows, 714 not fully funded, 53 with nothing funded,
Σ loan_amount 8,276,975, Σ funded_amount 7,772,055). The full-file check plans every row without
a database (importing 200,000 lender shares takes far longer than a test should) and skips
without ../shared.
"""

from __future__ import annotations

import csv
import functools
import gzip
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, Sum

from lending.imports.kiva_csv import import_loans_csv, plan_csv_row, read_rows
from lending.imports.models import ImportedRecord
from lending.imports.plans import Malformed
from lending.imports.summary import FileFigures
from lending.ledger.models import Journal, Transfer
from lending.ledger.reconcile import reconcile
from lending.loans.models import LenderPosition, Loan, LoanEvent, Share
from tests.lending.imports.conftest import run
from tests.lending.imports.fixtures import CSV_SUBSET, SHARED_CSV

S = Loan.Status
pytestmark = pytest.mark.django_db


def dollars(text: str) -> int:
    return int(Decimal(text) * 100)


@functools.cache
def rows() -> list[dict[str, str]]:
    with gzip.open(CSV_SUBSET, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def subset(module_db):
    return run(import_loans_csv, CSV_SUBSET, progress_every=50)


@pytest.fixture
def ours(subset) -> dict[str, Loan]:
    records = dict(ImportedRecord.objects.filter(kind="loan").values_list("external_id", "object_id"))
    loans = Loan.objects.in_bulk(list(records.values()))
    return {external_id: loans[pk] for external_id, pk in records.items()}


def test_the_fixture_has_both_timestamp_forms_and_every_special_case():
    times = [r["posted_time"] for r in rows()]
    assert any(t.endswith("+00:00") for t in times)
    assert any(not t.endswith("+00:00") for t in times)
    assert any(dollars(r["funded_amount"]) % 2500 for r in rows())
    assert any(not r["partner_id"] for r in rows())


def test_fully_funded_rows_end_funded_and_the_rest_expired(subset, ours):
    over_max = {r["id"] for r in rows() if dollars(r["loan_amount"]) > 1_000_000}
    expected = Counter(
        S.FUNDED if r["funded_amount"] == r["loan_amount"] else S.EXPIRED for r in rows() if r["id"] not in over_max
    )
    assert Counter(loan.status for loan in ours.values()) == expected
    assert subset.summary.statuses == expected
    assert (subset.summary.read, subset.summary.imported, subset.summary.skipped) == (
        len(rows()), len(rows()) - len(over_max), len(over_max),
    )  # fmt: skip
    assert all(loan.disbursed_on is None for loan in ours.values())  # no repayments in the file: never paid out


def test_the_amounts_add_up_to_the_files_own_sums(subset, ours):
    figures = subset.summary.figures
    assert figures == FileFigures(
        rows=len(rows()),
        fully_funded=sum(r["funded_amount"] == r["loan_amount"] for r in rows()),
        zero_funded=sum(dollars(r["funded_amount"]) == 0 for r in rows()),
        loan_cents=sum(dollars(r["loan_amount"]) for r in rows()),
        funded_cents=sum(dollars(r["funded_amount"]) for r in rows()),
    )
    skipped = {kiva_id for kiva_id, _ in subset.summary.problems}
    skipped_rows = [r for r in rows() if r["id"] in skipped]
    assert sum(loan.amount_cents for loan in ours.values()) + sum(dollars(r["loan_amount"]) for r in skipped_rows) == (
        figures.loan_cents
    )
    lent = Share.objects.filter(loan__in=ours.values()).aggregate(total=Sum("amount_cents"))["total"]
    assert lent + sum(dollars(r["funded_amount"]) for r in skipped_rows) == figures.funded_cents
    assert subset.summary.lent_cents == lent


def test_the_loan_over_the_platforms_largest_is_reported_by_id(subset):
    over = [r["id"] for r in rows() if dollars(r["loan_amount"]) > 1_000_000]
    assert [kiva_id for kiva_id, _ in subset.summary.problems] == over
    assert f"skipped Kiva loan {over[0]}: loan_amount: 35,000.00 is over the platform's largest loan" in subset.err


def test_expired_loans_gave_every_lender_their_shares_back(subset, ours):
    expired = [loan for loan in ours.values() if loan.status == S.EXPIRED]
    positions = LenderPosition.objects.filter(loan__in=expired)
    assert not positions.exclude(refunded_cents=F("lent_cents")).exists()
    assert positions.aggregate(total=Sum("lent_cents"))["total"] == sum(
        dollars(r["funded_amount"]) for r in rows() if r["id"] in {k for k, v in ours.items() if v.status == S.EXPIRED}
    )


def test_kivas_five_dollar_loans_keep_their_lenders_and_amounts_with_five_dollar_shares(subset, ours):
    for r in rows():
        loan = ours.get(r["id"])
        if loan is None:
            continue
        funded, lenders = dollars(r["funded_amount"]), int(r["lender_count"])
        small = funded % 2500 != 0 or lenders > funded // 2500
        assert loan.share_size_cents == (500 if small else 2500), r["id"]
        expected = min(max(lenders, 1 if funded else 0), funded // loan.share_size_cents)
        assert loan.lender_count == expected, r["id"]


def test_direct_loans_have_no_partner_and_partners_are_one_per_kiva_id(subset, ours):
    for r in rows():
        if r["id"] in ours:
            assert (ours[r["id"]].partner_id is None) == (r["partner_id"] == "")
    partner_ids = {ours[r["id"]].partner_id for r in rows() if r["id"] in ours and r["partner_id"]}
    assert len(partner_ids) == len({r["partner_id"] for r in rows() if r["id"] in ours and r["partner_id"]})


def test_importing_the_same_file_again_changes_nothing(subset):
    models = (Loan, LoanEvent, Share, LenderPosition, Journal, Transfer, ImportedRecord)
    before = {m.__name__: m.objects.count() for m in models}
    again = run(import_loans_csv, CSV_SUBSET).summary
    assert {m.__name__: m.objects.count() for m in models} == before
    assert (again.imported, again.already) == (0, subset.summary.imported)
    assert reconcile().ok


def test_a_file_without_kaggles_columns_is_refused_before_anything_is_written(tmp_path):
    records, journals = ImportedRecord.objects.count(), Journal.objects.count()
    bad = tmp_path / "loans.csv"
    bad.write_text("id,amount\n1,25\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"loans\.csv: not Kaggle's kiva_loans\.csv: no column funded_amount"):
        call_command("import_kiva_loans_csv", str(bad))
    with pytest.raises(CommandError, match=r"missing\.csv: no such file\."):
        call_command("import_kiva_loans_csv", str(tmp_path / "missing.csv"))
    assert (ImportedRecord.objects.count(), Journal.objects.count()) == (records, journals)


@pytest.mark.skipif(
    not SHARED_CSV.is_file(), reason="the 10k Kaggle sample is not present (../shared is not in a fresh clone)"
)
def test_the_whole_kaggle_sample_plans_to_the_readmes_figures():
    args = {"zone": ZoneInfo("UTC"), "share_cents": 2500, "window_days": 30, "max_cents": 1_000_000}
    figures = FileFigures()
    planned, problems, small = [], [], set()
    for row in read_rows(SHARED_CSV):
        amount, funded = dollars(row["loan_amount"]), dollars(row["funded_amount"])
        if funded % 2500 or int(row["lender_count"]) > funded // 2500:
            small.add(row["id"])  # Kiva's $5 lending: $25 shares cannot hold the amount or the lenders
        figures.rows += 1
        figures.loan_cents += amount
        figures.funded_cents += funded
        figures.fully_funded += amount == funded
        figures.zero_funded += funded == 0
        try:
            planned.append(plan_csv_row(row, **args))
        except Malformed as exc:
            problems.append((row["id"], str(exc), amount, funded))
    assert figures == FileFigures(
        rows=10_000, fully_funded=10_000 - 714, zero_funded=53, loan_cents=827_697_500, funded_cents=777_205_500
    )
    assert [(kiva_id, reason.split(":")[0]) for kiva_id, reason, *_ in problems] == [("1188063", "loan_amount")]
    assert sum(p.amount_cents for p in planned) + sum(p[2] for p in problems) == figures.loan_cents
    assert sum(p.funded_cents for p in planned) + sum(p[3] for p in problems) == figures.funded_cents
    assert Counter(p.target for p in planned) == Counter({S.FUNDED: 10_000 - 714 - 1, S.EXPIRED: 714})
    assert {p.external_id for p in planned if p.share_size_cents == 500} == small - {"1188063"}
