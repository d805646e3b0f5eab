"""The snapshot import's edges: broken records, a file that breaks off and a resumed run, bad files, closed books."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from accounts.models import BorrowerProfile, User
from lending.imports.kiva_snapshot import SnapshotError, import_snapshot, plan_api_loan, read_loans
from lending.imports.models import ImportedRecord
from lending.imports.plans import Malformed
from lending.jobs.close import close_business_day
from lending.jobs.models import BusinessDay
from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.loans.models import Loan, LoanEvent, Repayment, Share
from tests.lending.imports.conftest import run
from tests.lending.imports.fixtures import BROKEN, SNAPSHOT

S = Loan.Status
pytestmark = pytest.mark.django_db


def page() -> dict:
    with gzip.open(SNAPSHOT, "rt", encoding="utf-8") as f:
        return json.load(f)


def write(path: Path, header: dict, loans: list) -> Path:
    path.write_text(json.dumps({"header": header, "loans": loans}), encoding="utf-8")
    return path


def state() -> dict[str, tuple]:
    """What each imported loan became: status, money raised, lenders, payments, events."""
    out = {}
    for external_id, loan_id in ImportedRecord.objects.filter(kind="loan").values_list("external_id", "object_id"):
        loan = Loan.objects.get(pk=loan_id)
        payments = Repayment.objects.filter(loan=loan)
        out[external_id] = (
            loan.status, loan.raised_cents, loan.lender_count, payments.count(),
            sum(payments.values_list("amount_cents", flat=True)), LoanEvent.objects.filter(loan=loan).count(),
        )  # fmt: skip
    return out


def test_broken_records_are_reported_by_id_and_reason_and_leave_nothing_behind():
    borrowers = BorrowerProfile.objects.count()
    result = run(import_snapshot, [BROKEN])
    summary = result.summary
    assert (summary.read, summary.imported, summary.already, summary.skipped) == (16, 3, 1, 12)
    assert dict(summary.problems) == {
        "9000003": "status: empty",
        "9000004": "loan_amount: missing",
        "9000005": "loan_amount: 512.50 and funded_amount 512.50 are not whole numbers of $25.00 or $5.00 shares",
        "9000006": "posted_date: '2006-13-45T00:00:00Z' is not a date",
        "9000007": "sector: 'Space Travel' is not one of Kiva's sectors",
        "9000008": "payments.amount: -30 is not a positive amount",
        "9000009": "funded_amount: 400.00 is not the loan amount on a paid loan",
        "9000010": "terms.disbursal_date: 2016-01-01 is after the snapshot's date 2015-01-05",
        "9000011": "terms.scheduled_payments: they sum to 550.00, not the loan amount",
        "9000012": "borrower_count: must be a whole number from 1 to 100",
        "9000013": "status: 'teleported' is not a Kiva loan status",
        "?": "record: not a JSON object",
    }
    for external_id, reason in summary.problems:
        assert f"skipped Kiva loan {external_id}: {reason}" in result.err
    assert "12 skipped" in result.out
    # 9000012 was refused by loan_apply after its borrower was made: the whole loan rolled back,
    # but not the partner made for it, which 9000014 then uses.
    assert BorrowerProfile.objects.count() == borrowers + 3
    assert sorted(ImportedRecord.objects.filter(kind="loan").values_list("external_id", flat=True)) == [
        "9000001", "9000002", "9000014",
    ]  # fmt: skip
    partner = ImportedRecord.objects.get(kind="partner", external_id="77").object_id
    assert Loan.objects.get(pk=ImportedRecord.objects.get(external_id="9000014").object_id).partner_id == partner
    assert reconcile().ok


def test_a_file_that_breaks_off_keeps_what_it_imported_and_a_second_run_resumes(tmp_path):
    data = page()
    loans = data["loans"][:12]
    whole = json.dumps({"header": data["header"], "loans": loans})
    cut = whole.index(f'"id": {loans[7]["id"]},') + 40  # inside the eighth loan
    broken = tmp_path / "page.json.gz"
    broken.write_bytes(gzip.compress(whole[:cut].encode()))
    with pytest.raises(SnapshotError, match="the file breaks off") as crash:
        run(import_snapshot, [broken])
    assert "The 7 loan(s) imported before it are kept: run the import again to resume." in str(crash.value)
    assert ImportedRecord.objects.filter(kind="loan").count() == 7  # streamed: imported before the break was read
    assert not BusinessDay.objects.exists()  # the close waits for a complete file

    fixed = tmp_path / "page.json.gz"
    fixed.write_bytes(gzip.compress(whole.encode()))
    resumed = run(import_snapshot, [fixed]).summary
    assert (resumed.imported, resumed.already) == (5, 7)
    after_crash = state()

    # The same loans imported in one clean run (new ids) end exactly as the crashed-and-resumed ones.
    twins = [{**loan, "id": loan["id"] + 10_000_000} for loan in loans]
    clean = run(import_snapshot, [write(tmp_path / "twins.json", data["header"], twins)]).summary
    assert clean.imported == 12
    twin_state = {str(int(k) - 10_000_000): v for k, v in state().items() if int(k) > 10_000_000}
    assert twin_state == after_crash
    assert reconcile().ok


def test_a_reader_yields_loans_before_it_has_read_the_whole_file(tmp_path):
    data = page()
    text = json.dumps({"header": data["header"], "loans": data["loans"][:3]})
    path = tmp_path / "tail.json"
    path.write_text(text[:-2] + ', {"id": 1, "broken', encoding="utf-8")
    loans = read_loans(path)
    assert [next(loans)["id"] for _ in range(3)] == [loan["id"] for loan in data["loans"][:3]]
    with pytest.raises(SnapshotError):
        next(loans)


def test_books_closed_past_the_snapshot_get_the_default_rule_per_loan(tmp_path):
    close_business_day(on=date(2015, 3, 1))
    data = page()
    defaulted = [loan for loan in data["loans"] if loan["status"] == "defaulted"][:6]
    result = run(import_snapshot, [write(tmp_path / "late.json", data["header"], defaulted)])
    assert result.summary.close.startswith(
        "business days up to 2015-03-01 were already closed, so 2015-01-05 cannot be closed again: applied the "
        "default rule to each imported loan as of 2015-01-05 instead:"
    )
    assert not BusinessDay.objects.filter(date=date(2015, 1, 5)).exists()
    ours = Counter(
        Loan.objects.filter(pk__in=ImportedRecord.objects.values("object_id")).values_list("status", flat=True)
    )
    owing = sum(1 for loan in defaulted if sum(p["amount"] for p in loan["payments"]) < loan["loan_amount"])
    assert ours == Counter({S.DEFAULTED: owing, S.REPAID: len(defaulted) - owing})
    assert f"{owing} loan(s) defaulted" in result.summary.close


def test_the_command_refuses_a_missing_file_or_one_without_a_header_and_writes_nothing(tmp_path):
    users, journals = User.objects.count(), Journal.objects.count()
    with pytest.raises(CommandError, match=r"nope\.json: no such file\."):
        call_command("import_kiva_snapshot", str(BROKEN), str(tmp_path / "nope.json"))
    headless = tmp_path / "headless.json"
    headless.write_text(json.dumps({"loans": page()["loans"][:2]}), encoding="utf-8")
    with pytest.raises(CommandError, match=r"headless\.json: no header"):
        call_command("import_kiva_snapshot", str(headless))
    undated = write(tmp_path / "undated.json", {"date": "soon"}, page()["loans"][:2])
    with pytest.raises(CommandError, match=r"undated\.json: header\.date: 'soon' is not a date\."):
        call_command("import_kiva_snapshot", str(undated))
    assert (User.objects.count(), Journal.objects.count(), Share.objects.count()) == (users, journals, 0)


def test_the_command_prints_the_summary_and_the_comparison(capsys):
    call_command("import_kiva_snapshot", str(BROKEN), "--progress-every", "5")
    out, err = capsys.readouterr()
    assert "read 16 records: 3 imported, 1 already imported" in out
    assert "Kiva's status against ours (as of 2015-01-05):" in out
    assert "kiva snapshot: 15 read" in err
    assert "skipped Kiva loan 9000003: status: empty" in err


def test_kivas_other_statuses_take_their_nearest_path(tmp_path):
    data = page()
    paid = next(loan for loan in data["loans"] if loan["id"] == 84)
    bare = {**paid, "payments": [], "paid_amount": None, "funded_date": None, "planned_expiration_date": None}
    recent = {"posted_date": "2014-10-20T10:00:00Z", "funded_date": "2014-10-25T10:00:00Z"}
    terms = {**paid["terms"], "disbursal_date": "2014-11-01T00:00:00Z"}
    paying = {**paid, **recent, "id": 4, "status": "in_repayment", "terms": terms}
    paying["payments"] = [{"amount": 50, "processed_date": "2014-12-01T09:00:00Z", "payment_id": 99}]
    loans = [
        {**bare, "id": 1, "status": "fundraising", "funded_amount": 100, "posted_date": "2014-12-20T00:00:00Z",
         "planned_expiration_date": "2015-01-19T00:00:00Z"},
        {**bare, "id": 2, "status": "expired", "funded_amount": 200, "posted_date": "2014-10-01T00:00:00Z",
         "planned_expiration_date": "2014-10-31T00:00:00Z"},
        {**bare, **recent, "id": 3, "status": "funded", "funded_amount": 500},
        paying,
        {**bare, "id": 5, "status": "deleted", "funded_amount": 0, "lender_count": 0,
         "posted_date": "2014-12-01T00:00:00Z"},
        {**bare, "id": 6, "status": "fundraising", "funded_amount": 100, "posted_date": "2014-11-01T00:00:00Z",
         "planned_expiration_date": "2014-12-01T00:00:00Z"},
    ]  # fmt: skip
    result = run(import_snapshot, [write(tmp_path / "statuses.json", data["header"], loans)])
    assert result.summary.skipped == 0, result.summary.problems
    statuses = {k: v[0] for k, v in state().items()}
    assert statuses == {
        "1": S.FUNDRAISING, "2": S.EXPIRED, "3": S.FUNDED, "4": S.PAYING_BACK, "5": S.CANCELLED, "6": S.EXPIRED,
    }  # fmt: skip
    expired = Loan.objects.filter(status=S.EXPIRED, pk__in=ImportedRecord.objects.values("object_id"))
    assert sum(p.refunded_cents for loan in expired for p in loan.positions.all()) == 30_000  # $200 + $100 back
    assert [(d.kiva_id, d.why) for d in result.summary.comparison.differences] == [
        ("6", "its fundraising window closed on 2014-12-01: the close expired it")
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"terms": "monthly"}, "terms: not a JSON object"),
        ({"location": ["KE"]}, "location: not a JSON object"),
        ({"payments": [{"amount": 30, "processed_date": "2005-05-01T00:00:00Z", "payment_id": 8}] * 2},
         "payments.payment_id: 8 appears more than once"),
        ({"lender_count": "many"}, "lender_count: 'many' is not a whole number"),
    ],
)  # fmt: skip
def test_a_record_broken_in_its_structure_is_malformed_not_a_crash(change, reason):
    paid = next(loan for loan in page()["loans"] if loan["id"] == 84)
    with pytest.raises(Malformed) as caught:
        plan_api_loan(
            {**paid, **change}, snapshot_on=date(2015, 1, 5), zone=ZoneInfo("UTC"), share_cents=2500,
            window_days=30, max_cents=1_000_000,
        )  # fmt: skip
    assert str(caught.value) == reason
