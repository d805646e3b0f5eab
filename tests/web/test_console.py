"""The partner and staff console: who may see what, every form valid and invalid, the repayment batch's preview
and its all-or-nothing apply, the work lists' query counts, the line charts, and the read-only admin."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as people
from accounts.models import User
from lending.ledger.models import Journal, Transfer
from lending.loans.applications import loan_apply, loan_approve, loan_submit
from lending.loans.arrears import loan_refresh_arrears
from lending.loans.default import loan_refund, loan_write_off
from lending.loans.models import Installment, Loan, LoanEvent, Repayment
from lending.loans.repayments import repayment_record
from lending.metrics.snapshots import snapshot_portfolio
from lending.web.console_charts import Point, line_chart, nice_ceiling
from tests.loans import START, buy, wallet_cents

pytestmark = pytest.mark.django_db
S = Loan.Status
PASSWORD = "river-stone-ledger-42"
TODAY = timezone.localdate


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _error_next_to(html: str, field_id: str) -> str:
    """The message next to a field, and the field described by it (aria-describedby)."""
    found = re.search(rf'<p class="field-error" id="{field_id}_error">(.*?)</p>', html, re.S)
    assert found, f"no error next to {field_id}"
    assert re.search(rf'id="{field_id}"[^>]*aria-describedby="[^"]*{field_id}_error', html) or re.search(
        rf'aria-describedby="[^"]*{field_id}_error"[^>]*id="{field_id}"', html
    ), f"{field_id} is not described by its error"
    return found.group(1)


# --- people and loans --------------------------------------------------------------------------------


@pytest.fixture
def other_officer(db: None) -> User:
    """Staff of another field partner, with a borrower and a submitted loan of their own."""
    partner = people.field_partner_create(name="Kisumu Savings", country="KE")
    return people.partner_staff_add(
        partner=partner, email="other@example.org", password=PASSWORD, full_name="Otto Other"
    ).user


@pytest.fixture
def others_loan(other_officer: User) -> Loan:
    partner = other_officer.partner_staff.partner
    borrower = people.borrower_create(display_name="Wanjiru K.", country="KE", partner=partner)
    loan = loan_apply(
        actor=other_officer, borrower=borrower, amount_cents=50_000, currency="USD", purpose="Sewing machine",
        sector="clothing", repayments=10,
    )  # fmt: skip
    return loan_submit(loan=loan, actor=other_officer, on=START)


@pytest.fixture
def borrower_user(db: None) -> User:
    profile = people.borrower_create(
        display_name="Farida N.", country="UG", email="farida@example.org", password=PASSWORD
    )
    assert profile.user is not None
    return profile.user


@pytest.fixture
def submitted(apply, officer):
    def make(**overrides: object) -> Loan:
        return loan_submit(loan=apply(**overrides), actor=officer, on=START)

    return make


@pytest.fixture
def funded(listed):
    def make(lender: User, cents: int = 2_500, **overrides: object) -> Loan:
        loan = listed(amount_cents=cents, **overrides)
        buy(loan, [(lender, cents)])
        loan.refresh_from_db()
        assert loan.status == S.FUNDED
        return loan

    return make


@pytest.fixture
def paying(disbursed, make_lenders):
    """A paying-back loan of $125 in 10 monthly installments of $12.50, disbursed on START (now months late)."""
    lender = make_lenders(1, 1_000_000)[0]

    def make(**overrides: object) -> Loan:
        loan = disbursed([(lender, 12_500)], **{"repayments": 10, **overrides})
        loan_refresh_arrears(loan=loan, as_of=TODAY())
        loan.refresh_from_db()
        return loan

    return make


# --- permissions: every page for every kind of visitor ------------------------------------------------

LIST_PAGES = ["/console/", "/console/at-risk/", "/console/defaults/", "/console/metrics/",
              "/console/repayments/batch/", "/console/find/"]  # fmt: skip


@pytest.mark.parametrize("url", [*LIST_PAGES, "/console/loans/1/", "/console/loans/1/write-off/"])
def test_console_pages_send_anonymous_visitors_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("url", LIST_PAGES)
def test_console_pages_are_forbidden_to_lenders_and_borrowers(lender, borrower_user, url):
    for user in (lender, borrower_user):
        response = _client(user).get(url)

        assert response.status_code == 403
        assert b"The console is for field partners and staff" in response.content


@pytest.mark.parametrize("url", LIST_PAGES)
def test_console_pages_open_for_partner_staff_and_platform_staff(officer, staff, url):
    for user in (officer, staff):
        assert _client(user).get(url).status_code == 200


def test_a_loans_pages_are_a_404_for_another_partners_staff_and_forbidden_to_lenders(
    submitted, other_officer, lender, officer, staff
):
    loan = submitted()
    pages = [f"/console/loans/{loan.pk}/", f"/console/loans/{loan.pk}/write-off/", f"/console/loans/{loan.pk}/refund/"]

    for url in pages:
        assert _client(other_officer).get(url).status_code == 404
        assert _client(lender).get(url).status_code == 403
    assert _client(officer).get(pages[0]).status_code == 200
    assert _client(staff).get(pages[0]).status_code == 200


def test_only_platform_staff_may_open_the_write_off_and_refund_pages(paying, officer, staff):
    loan = paying()

    for kind in ("write-off", "refund"):
        response = _client(officer).get(f"/console/loans/{loan.pk}/{kind}/")
        assert response.status_code == 403
        assert b"Only platform staff may do this" in response.content
        assert _client(staff).get(f"/console/loans/{loan.pk}/{kind}/").status_code == 200


@pytest.mark.parametrize("action", ["approve", "reject", "publish", "disburse", "repayment"])
def test_actions_on_another_partners_loan_are_a_404_and_change_nothing(others_loan, officer, lender, action):
    data = {"reject-reason": "No", "repay-amount": "10", "repay-received_on": "2026-02-01", "repay-request_key": "k"}

    assert _client(officer).post(f"/console/loans/{others_loan.pk}/{action}/", data).status_code == 404
    assert _client(lender).post(f"/console/loans/{others_loan.pk}/{action}/", data).status_code == 403
    others_loan.refresh_from_db()
    assert others_loan.status == S.SUBMITTED
    assert LoanEvent.objects.filter(loan=others_loan).count() == 1


def test_the_queue_shows_partner_staff_their_own_loans_and_platform_staff_every_loan(
    submitted, others_loan, officer, staff
):
    mine = submitted(purpose="Buy a dairy cow")

    own = _client(officer).get("/console/").content.decode()
    everyone = _client(staff).get("/console/").content.decode()

    assert f'data-testid="loan-row-{mine.pk}"' in own
    assert f'data-testid="loan-row-{others_loan.pk}"' not in own
    assert "Jinja Growers: your field partner's loans" in own
    assert f'data-testid="loan-row-{mine.pk}"' in everyone
    assert f'data-testid="loan-row-{others_loan.pk}"' in everyone
    assert "Kisumu Savings" in everyone


def test_the_site_nav_links_the_console_for_partner_and_platform_staff_only(officer, staff, lender):
    assert b'href="/console/">Console</a>' in _client(officer).get("/").content
    assert b'href="/console/">Console</a>' in _client(staff).get("/").content
    assert b'href="/console/">Console</a>' not in _client(lender).get("/").content


# --- the review queue: approve, reject, publish, disburse ----------------------------------------------


def test_the_queue_counts_loans_per_state_and_lists_what_waits(submitted, apply, officer):
    first, second = submitted(), submitted()

    page = _client(officer).get("/console/").content.decode()

    assert re.search(r'data-testid="count-submitted"><span class="n">2</span>', page)
    assert re.search(r'data-testid="count-approved"><span class="n">0</span>', page)
    assert f'Approve<span class="vh"> loan {first.pk}</span>' in page
    assert f"Reject loan {second.pk}" in page


def test_approving_from_the_queue_moves_the_loan_and_comes_back_to_the_queue(submitted, officer):
    loan = submitted()
    client = _client(officer)

    response = client.post(f"/console/loans/{loan.pk}/approve/", {"next": "/console/"})

    assert response.status_code == 302
    assert response["Location"] == "/console/"
    loan.refresh_from_db()
    assert loan.status == S.APPROVED
    page = client.get("/console/").content.decode()
    assert f"Loan {loan.pk} approved." in page
    assert f'List<span class="vh"> loan {loan.pk}</span> for lenders' in page


def test_approve_keeps_an_optional_reason_in_the_history(submitted, officer):
    loan = submitted()

    _client(officer).post(f"/console/loans/{loan.pk}/approve/", {"approve-reason": "Visited the farm"})

    assert LoanEvent.objects.filter(loan=loan, to_status=S.APPROVED, reason="Visited the farm").exists()


def test_next_never_sends_anyone_off_the_site(submitted, officer):
    loan = submitted()

    response = _client(officer).post(f"/console/loans/{loan.pk}/approve/", {"next": "https://evil.example/"})

    assert response["Location"] == f"/console/loans/{loan.pk}/"


def test_rejecting_without_a_reason_shows_the_message_next_to_the_field_and_changes_nothing(submitted, officer):
    loan = submitted()

    response = _client(officer).post(f"/console/loans/{loan.pk}/reject/", {"reject-reason": "   "})

    assert response.status_code == 400
    assert "Give a reason" in _error_next_to(response.content.decode(), "id_reject-reason")
    loan.refresh_from_db()
    assert loan.status == S.SUBMITTED
    assert not LoanEvent.objects.filter(loan=loan, to_status=S.REJECTED).exists()


def test_rejecting_with_a_reason_records_it(submitted, officer):
    loan = submitted()

    response = _client(officer).post(f"/console/loans/{loan.pk}/reject/", {"reject-reason": "Too large for now"})

    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == S.REJECTED
    assert LoanEvent.objects.get(loan=loan, to_status=S.REJECTED).reason == "Too large for now"


def test_a_second_click_on_approve_says_the_loan_moved_on_and_writes_nothing(submitted, officer):
    loan = submitted()
    client = _client(officer)
    client.post(f"/console/loans/{loan.pk}/approve/")

    response = client.post(f"/console/loans/{loan.pk}/approve/")

    assert response.status_code == 409
    assert b"Nothing was done: the loan is approved now." in response.content
    assert LoanEvent.objects.filter(loan=loan, to_status=S.APPROVED).count() == 1


def test_publishing_lists_an_approved_loan(apply, officer, staff):
    loan = apply()
    loan_submit(loan=loan, actor=officer, on=START)
    _client(officer).post(f"/console/loans/{loan.pk}/approve/")

    response = _client(staff).post(f"/console/loans/{loan.pk}/publish/")

    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == S.FUNDRAISING
    assert loan.fundraising_deadline == TODAY() + timedelta(days=loan.fundraising_days)


def test_disbursing_a_funded_loan_with_dates_fixes_its_schedule(funded, make_lenders, officer):
    loan = funded(make_lenders(1)[0], repayments=3)
    paid_on = TODAY() - timedelta(days=3)
    first = paid_on + timedelta(days=20)

    response = _client(officer).post(
        f"/console/loans/{loan.pk}/disburse/",
        {"disburse-disbursed_on": paid_on.isoformat(), "disburse-first_repayment_date": first.isoformat()},
    )

    assert response.status_code == 302
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on, loan.first_repayment_date) == (S.PAYING_BACK, paid_on, first)
    assert Installment.objects.filter(loan=loan).count() == 3


@pytest.mark.parametrize(
    ("paid_on", "first", "field", "message"),
    [
        (1, None, "disbursed_on", "cannot be paid out in the future"),
        (-2, -5, "first_repayment_date", "must fall after the payout"),
        ("garbage", None, "disbursed_on", "Enter a valid date"),
    ],
)
def test_disbursing_with_bad_dates_says_why_next_to_the_field_and_pays_nothing(
    funded, make_lenders, officer, paid_on, first, field, message
):
    loan = funded(make_lenders(1)[0])

    def day(n: int | str | None) -> str:
        return "" if n is None else n if isinstance(n, str) else (TODAY() + timedelta(days=n)).isoformat()

    data = {"disburse-disbursed_on": day(paid_on), "disburse-first_repayment_date": day(first)}

    response = _client(officer).post(f"/console/loans/{loan.pk}/disburse/", data)

    assert response.status_code == 400
    assert message in _error_next_to(response.content.decode(), f"id_disburse-{field}")
    loan.refresh_from_db()
    assert loan.status == S.FUNDED
    assert not Installment.objects.filter(loan=loan).exists()
    assert not Journal.objects.filter(kind="disbursement").exists()


# --- one repayment ---------------------------------------------------------------------------------------


def _repay_key(client: Client, loan: Loan) -> str:
    page = client.get(f"/console/loans/{loan.pk}/").content.decode()
    return re.search(r'name="repay-request_key" value="([^"]+)"', page).group(1)


def test_recording_a_repayment_posts_it_once_however_often_the_form_is_sent(paying, officer):
    loan = paying()
    client = _client(officer)
    key = _repay_key(client, loan)
    data = {"repay-amount": "10.00", "repay-received_on": TODAY().isoformat(), "repay-request_key": key}

    first = client.post(f"/console/loans/{loan.pk}/repayment/", data)
    second = client.post(f"/console/loans/{loan.pk}/repayment/", data)

    assert first.status_code == second.status_code == 302
    repayment = Repayment.objects.get(loan=loan)
    assert (repayment.amount_cents, repayment.source, repayment.recorded_by) == (1_000, "partner", officer)
    page = client.get(first["Location"]).content.decode()
    assert f"Recorded a repayment of $10.00 for loan {loan.pk}: principal $10.00." in page


def test_platform_staff_record_repayments_as_staff(paying, staff):
    loan = paying()
    client = _client(staff)
    data = {
        "repay-amount": "5",
        "repay-received_on": TODAY().isoformat(),
        "repay-request_key": _repay_key(client, loan),
    }

    assert client.post(f"/console/loans/{loan.pk}/repayment/", data).status_code == 302
    assert Repayment.objects.get(loan=loan).source == "staff"


@pytest.mark.parametrize(
    ("amount", "received_on", "field", "message"),
    [
        ("ten", 0, "amount", "Enter an amount in USD"),
        ("0", 0, "amount", "above zero"),
        ("-5", 0, "amount", "above zero"),
        ("", 0, "amount", "This field is required"),
        ("10", 1, "received_on", "cannot be received in the future"),
        ("10", -400, "received_on", "a repayment comes after"),
    ],
)
def test_a_bad_repayment_comes_back_with_the_message_next_to_the_field_and_records_nothing(
    paying, officer, amount, received_on, field, message
):
    loan = paying()
    client = _client(officer)
    day = (TODAY() + timedelta(days=received_on)).isoformat()
    data = {"repay-amount": amount, "repay-received_on": day, "repay-request_key": _repay_key(client, loan)}

    response = client.post(f"/console/loans/{loan.pk}/repayment/", data)

    assert response.status_code == 400
    assert message in _error_next_to(response.content.decode(), f"id_repay-{field}")
    assert not Repayment.objects.exists()


def test_the_same_form_key_with_other_figures_is_refused_and_records_nothing_new(paying, officer):
    loan = paying()
    client = _client(officer)
    key = _repay_key(client, loan)
    base = {"repay-received_on": TODAY().isoformat(), "repay-request_key": key}
    client.post(f"/console/loans/{loan.pk}/repayment/", {**base, "repay-amount": "10"})

    response = client.post(f"/console/loans/{loan.pk}/repayment/", {**base, "repay-amount": "20"})

    assert response.status_code == 409
    assert b"already sent with other figures" in response.content
    assert Repayment.objects.count() == 1


def test_a_repayment_for_a_loan_not_paying_back_is_not_offered(submitted, officer):
    loan = submitted()

    response = _client(officer).post(
        f"/console/loans/{loan.pk}/repayment/",
        {"repay-amount": "10", "repay-received_on": TODAY().isoformat(), "repay-request_key": "abc"},
    )

    assert response.status_code == 409
    assert f"Nothing was done: loan {loan.pk} is submitted, not paying back." in response.content.decode()
    assert not Repayment.objects.exists()


# --- write-off and refund -----------------------------------------------------------------------------


def test_the_write_off_page_asks_for_confirmation_showing_what_is_written_off(paying, staff):
    loan = paying()

    page = _client(staff).get(f"/console/loans/{loan.pk}/write-off/").content.decode()

    assert f"Write off loan {loan.pk}?" in page
    assert 'data-testid="amount">$125.00<' in page
    assert f"Write off loan {loan.pk}</button>" in page
    loan.refresh_from_db()
    assert loan.status == S.PAYING_BACK


def test_writing_off_without_a_reason_writes_nothing(paying, staff):
    loan = paying()

    response = _client(staff).post(f"/console/loans/{loan.pk}/write-off/", {"write-off-reason": ""})

    assert response.status_code == 400
    assert "Give a reason" in _error_next_to(response.content.decode(), "id_write-off-reason")
    loan.refresh_from_db()
    assert loan.status == S.PAYING_BACK
    assert not Journal.objects.filter(kind="write_off").exists()


def test_writing_off_with_a_reason_defaults_the_loan_and_lists_it_in_defaults(paying, staff):
    loan = paying()
    client = _client(staff)

    response = client.post(f"/console/loans/{loan.pk}/write-off/", {"write-off-reason": "Borrower moved away"})

    assert response.status_code == 302
    assert response["Location"] == "/console/defaults/"
    loan.refresh_from_db()
    assert (loan.status, loan.written_off_cents) == (S.DEFAULTED, 12_500)
    page = client.get("/console/defaults/").content.decode()
    assert f"Loan {loan.pk} written off: $125.00 of lenders&#x27; principal." in page
    assert f'data-testid="lost-row-{loan.pk}"' in page


def test_partner_staff_cannot_write_off_even_by_posting(paying, officer):
    loan = paying()

    response = _client(officer).post(f"/console/loans/{loan.pk}/write-off/", {"write-off-reason": "Gone"})

    assert response.status_code == 403
    loan.refresh_from_db()
    assert loan.status == S.PAYING_BACK


def test_a_loan_that_cannot_be_written_off_says_so_and_offers_no_button(funded, make_lenders, staff):
    loan = funded(make_lenders(1)[0])

    page = _client(staff).get(f"/console/loans/{loan.pk}/write-off/")
    posted = _client(staff).post(f"/console/loans/{loan.pk}/write-off/", {"write-off-reason": "x"})

    assert b"only a loan being paid back can be written off" in page.content
    assert f"Write off loan {loan.pk}</button>".encode() not in page.content
    assert posted.status_code == 409
    loan.refresh_from_db()
    assert loan.status == S.FUNDED


def test_refunding_a_funded_loan_gives_the_lenders_their_money_back(funded, make_lenders, staff):
    lender = make_lenders(1, 10_000)[0]
    loan = funded(lender)

    response = _client(staff).post(f"/console/loans/{loan.pk}/refund/", {"refund-reason": "Partner error"})

    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == S.REFUNDED
    assert wallet_cents(lender) == 10_000


# --- repayment batches: preview every row, apply all or nothing, once ---------------------------------------


def _csv(*rows: str, header: str = "loan,amount_cents,currency,received_on,reference") -> SimpleUploadedFile:
    return SimpleUploadedFile("march.csv", "\n".join([header, *rows]).encode(), content_type="text/csv")


def _upload(client: Client, file: SimpleUploadedFile):
    return client.post("/console/repayments/batch/", {"file": file})


def _token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_the_preview_shows_every_row_with_its_error_and_offers_no_apply(paying, others_loan, officer):
    loan = paying()

    response = _upload(
        _client(officer),
        _csv(
            f"{loan.pk},1000,USD,2026-02-05,r-1",
            f"{loan.pk},ten,USD,2026-02-05,r-2",
            f"{others_loan.pk},1000,USD,2026-02-05,r-3",
            f"{loan.pk},1000,USD,2099-01-01,r-4",
            f"{loan.pk},1000,USD,2026-02-05,r-1",
        ),
    )

    page = response.content.decode()
    assert response.status_code == 400
    rows = {n: re.search(rf'data-testid="batch-row-{n}">(.*?)</tr>', page, re.S).group(1) for n in range(1, 6)}
    assert "OK" in rows[1]
    assert "Amount: must be a positive whole number" in rows[2]
    assert f"Loan: no loan &#x27;{others_loan.pk}&#x27; that you may post repayments for" in rows[3]
    assert "Date: cannot be in the future" in rows[4]
    assert "Reference: appears twice in this batch" in rows[5]
    assert "submitted" not in rows[3]  # what the loan is doing is no business of another partner's staff
    assert "Nothing was recorded: 4 problems in this file." in page
    assert "Apply " not in page
    assert not Repayment.objects.exists()


def test_a_clean_batch_is_previewed_then_applied_whole_and_a_second_click_applies_nothing_more(paying, officer):
    first, second = paying(), paying()
    client = _client(officer)

    preview = _upload(client, _csv(f"{first.pk},1000,USD,2026-02-05,r-1", f"{second.pk},2500,USD,2026-02-06,r-2"))

    page = preview.content.decode()
    assert preview.status_code == 200
    assert "All 2 rows can be recorded: $35.00." in page
    assert page.count('<span class="ok-mark">OK</span>') == 2
    assert "Apply 2 repayments</button>" in page
    assert not Repayment.objects.exists()  # the preview records nothing
    token = _token(page)

    applied = client.post("/console/repayments/batch/apply/", {"token": token})
    again = client.post("/console/repayments/batch/apply/", {"token": token})

    assert applied.status_code == again.status_code == 302
    assert applied["Location"] == again["Location"] == f"/console/repayments/batch/{token}/"
    assert sorted(Repayment.objects.values_list("loan_id", "amount_cents")) == [(first.pk, 1000), (second.pk, 2500)]
    done = client.get(applied["Location"]).content.decode()
    assert "Recorded 2 repayments from march.csv." in done


def test_apply_checks_again_and_records_nothing_if_a_row_went_bad_since_the_preview(paying, officer, staff):
    first, second = paying(), paying()
    client = _client(officer)
    page = _upload(client, _csv(f"{first.pk},1000,USD,2026-02-05,r-1", f"{second.pk},2500,USD,2026-02-06,r-2"))
    loan_refund(loan=second, actor=staff, reason="Partner error")  # meanwhile, the loan stopped taking payments

    response = client.post("/console/repayments/batch/apply/", {"token": _token(page.content.decode())})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was recorded: the batch has problems now" in html
    assert f"loan {second.pk} is refunded, not paying back" in re.search(
        r'data-testid="batch-row-2">(.*?)</tr>', html, re.S
    ).group(1)
    assert not Repayment.objects.exists()  # all or nothing: the good first row was not recorded either


def test_the_same_file_uploaded_again_records_nothing_twice(paying, officer):
    loan = paying()
    client = _client(officer)
    rows = _csv(f"{loan.pk},1000,USD,2026-02-05,r-1")
    client.post("/console/repayments/batch/apply/", {"token": _token(_upload(client, rows).content.decode())})

    rows = _csv(f"{loan.pk},1000,USD,2026-02-05,r-1")
    response = client.post(
        "/console/repayments/batch/apply/", {"token": _token(_upload(client, rows).content.decode())}
    )

    assert Repayment.objects.count() == 1
    done = client.get(response["Location"]).content.decode()
    assert "Recorded 0 repayments from march.csv." in done
    assert "already recorded earlier under the same reference" in done


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"loan,amount\n1,2\n", "The first line must name the columns"),
        (b"\xff\xfe\x00bad", "Save the file as CSV in UTF-8"),
        (b"", "The file is empty"),
    ],
)
def test_an_unreadable_file_comes_back_with_the_message_next_to_the_field(officer, content, message):
    response = _upload(_client(officer), SimpleUploadedFile("x.csv", content, content_type="text/csv"))

    assert response.status_code == 400
    assert message in _error_next_to(response.content.decode(), "id_file")
    assert not Repayment.objects.exists()


def test_a_header_only_file_says_the_batch_has_no_rows(officer):
    response = _upload(_client(officer), _csv())

    assert response.status_code == 400
    assert "the batch has no rows" in response.content.decode()


def test_uploading_without_a_file_asks_for_one(officer):
    response = _client(officer).post("/console/repayments/batch/", {})

    assert response.status_code == 400
    assert "Choose a CSV file" in _error_next_to(response.content.decode(), "id_file")


def test_applying_an_unknown_or_someone_elses_token_records_nothing(paying, officer, staff):
    loan = paying()
    client = _client(officer)
    token = _token(_upload(client, _csv(f"{loan.pk},1000,USD,2026-02-05,r-1")).content.decode())

    unknown = client.post("/console/repayments/batch/apply/", {"token": "made-up"})
    stranger = _client(staff).post("/console/repayments/batch/apply/", {"token": token})

    assert unknown.status_code == stranger.status_code == 409
    assert b"upload the file again" in unknown.content
    assert not Repayment.objects.exists()
    assert client.get(f"/console/repayments/batch/{token}/").status_code == 404  # previewed, never applied


def test_applying_is_post_only_and_forbidden_to_lenders(lender, officer):
    assert _client(officer).get("/console/repayments/batch/apply/").status_code == 405
    assert _client(lender).post("/console/repayments/batch/apply/", {"token": "x"}).status_code == 403


# --- loans at risk, defaults, find -------------------------------------------------------------------------


def test_loans_at_risk_lists_late_loans_most_days_late_first_with_their_bucket(paying, officer, others_loan):
    older, newer = paying(), paying()
    repayment_record(loan=newer, amount_cents=6_000, currency="USD", received_on=TODAY(), source="staff",
                     idempotency_key="k", actor=None)  # fmt: skip
    loan_refresh_arrears(loan=newer, as_of=TODAY())
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.days_past_due > newer.days_past_due > 0

    page = _client(officer).get("/console/at-risk/").content.decode()

    assert page.index(f'data-testid="risk-row-{older.pk}"') < page.index(f'data-testid="risk-row-{newer.pk}"')
    row = re.search(rf'data-testid="risk-row-{older.pk}">(.*?)</tr>', page, re.S).group(1)
    assert f'<td data-label="Days late" class="num">{older.days_past_due}</td>' in row
    assert "180+" in row
    assert "$125.00" in row  # principal at risk
    assert "Write off" not in row  # platform staff only
    assert f"risk-row-{others_loan.pk}" not in page


def test_loans_at_risk_filters_by_days_late_and_refuses_a_made_up_filter(paying, officer):
    loan = paying()

    assert f"risk-row-{loan.pk}" in _client(officer).get("/console/at-risk/?min_days=181").content.decode()
    assert _client(officer).get("/console/at-risk/?min_days=7").status_code == 400


def test_defaults_show_written_off_principal_and_recoveries(paying, staff, officer):
    loan = paying()
    loan_write_off(loan=loan, actor=staff, reason="Fled")
    repayment_record(loan=loan, amount_cents=2_000, currency="USD", received_on=TODAY(), source="staff",
                     idempotency_key="rec", actor=None)  # fmt: skip

    page = _client(officer).get("/console/defaults/").content.decode()

    row = re.search(rf'data-testid="lost-row-{loan.pk}">(.*?)</tr>', page, re.S).group(1)
    assert "$125.00" in row
    assert "$20.00" in row
    assert 'data-testid="recovered"><span class="n">$20.00</span>' in page


def test_finding_a_loan_opens_it_only_if_it_is_yours(submitted, others_loan, officer):
    loan = submitted()
    client = _client(officer)

    assert client.get(f"/console/find/?loan={loan.pk}")["Location"] == f"/console/loans/{loan.pk}/"
    response = client.get(f"/console/find/?loan={others_loan.pk}")
    assert response.status_code == 400
    assert "There is no loan" in _error_next_to(response.content.decode(), "id_loan")
    assert client.get("/console/find/?loan=abc").status_code == 400


# --- metrics -----------------------------------------------------------------------------------------------


def test_metrics_draw_the_partners_figures_from_the_nightly_snapshots(paying, officer):
    paying()
    for day in (date(2026, 3, 1), date(2026, 6, 1), date(2026, 9, 1)):
        snapshot_portfolio(day)

    response = _client(officer).get("/console/metrics/?start=2026-01-01&end=2026-10-01")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Metrics: Jinja Growers</h1>" in page
    for name in ("par_30", "delinquency_rate", "default_rate_by_amount", "outstanding_principal"):
        assert f'data-testid="chart-{name}"' in page
    assert page.count('<svg class="line-chart"') == 4
    assert '<path class="line"' in page
    assert "1 Sept 2026" in page or "1 Sep 2026" in page


def test_metrics_without_snapshots_say_so(officer):
    page = _client(officer).get("/console/metrics/").content.decode()

    assert "No snapshots in this period yet" in page


def test_metrics_with_a_backwards_period_say_why_next_to_the_field(officer):
    response = _client(officer).get("/console/metrics/?start=2026-05-01&end=2026-04-01")

    assert response.status_code == 400
    assert "on or before the end" in _error_next_to(response.content.decode(), "id_start")


def test_platform_staff_choose_the_partner_partner_staff_cannot(officer, other_officer, staff):
    other = other_officer.partner_staff.partner

    staff_page = _client(staff).get(f"/console/metrics/?partner={other.pk}").content.decode()
    officer_page = _client(officer).get(f"/console/metrics/?partner={other.pk}").content.decode()

    assert "<h1>Metrics: Kisumu Savings</h1>" in staff_page
    assert "<h1>Metrics: Jinja Growers</h1>" in officer_page
    assert 'name="partner"' not in officer_page


# --- query counts: the same for 1 loan as for 5 -------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_queue_runs_as_many_queries_for_5_loans_as_for_1(submitted, funded, make_lenders, officer, staff):
    lender = make_lenders(1, 1_000_000)[0]

    def one_of_each() -> None:
        submitted(), loan_approve(loan=submitted(), actor=officer), funded(lender)

    one_of_each()
    counts = {user: _queries(_client(user), "/console/") for user in (officer, staff)}
    for _ in range(4):
        one_of_each()

    assert {user: _queries(_client(user), "/console/") for user in (officer, staff)} == counts
    assert _client(staff).get("/console/").content.decode().count('data-testid="loan-row-') == 15


def test_loans_at_risk_and_defaults_run_as_many_queries_for_5_loans_as_for_1(paying, officer, staff):
    first = paying()
    loan_write_off(loan=paying(), actor=staff, reason="x")
    client = _client(officer)
    before = (_queries(client, "/console/at-risk/"), _queries(client, "/console/defaults/"))
    assert f"risk-row-{first.pk}" in client.get("/console/at-risk/").content.decode()

    for _ in range(4):
        paying()
        loan_write_off(loan=paying(), actor=staff, reason="x")

    assert (_queries(client, "/console/at-risk/"), _queries(client, "/console/defaults/")) == before


def test_the_batch_preview_runs_as_many_queries_for_5_rows_as_for_1(paying, officer):
    loans = [paying() for _ in range(5)]
    client = _client(officer)

    def preview(n: int) -> int:
        rows = [f"{loan.pk},1000,USD,2026-02-05,r-{i}" for i, loan in enumerate(loans[:n])]
        with CaptureQueriesContext(connection) as queries:
            assert _upload(client, _csv(*rows)).status_code == 200
        return len(queries)

    assert preview(1) == preview(5)


# --- the line chart ------------------------------------------------------------------------------------------


def test_the_line_chart_breaks_at_days_without_a_figure_and_names_itself():
    points = [Point(date(2026, 1, d), v) for d, v in [(1, 0.1), (2, 0.2), (3, None), (4, 0.3), (5, 0.25)]]

    svg = line_chart(points, title="PAR <30>", chart_id="par", fmt=lambda v: f"{v:.0%}")

    assert svg.startswith(
        '<svg class="line-chart" viewBox="0 0 420 220" role="img" aria-labelledby="par-title par-desc"'
    )
    assert '<title id="par-title">PAR &lt;30&gt;</title>' in svg
    assert svg.count('<path class="line"') == 2
    assert "highest 30% on 4 Jan 2026" in svg


def test_the_line_chart_of_nothing_says_so_and_of_one_day_draws_a_dot():
    assert "No figures yet" in line_chart([], title="x", chart_id="x", fmt=str)
    one = line_chart([Point(date(2026, 1, 1), 5.0)], title="x", chart_id="x", fmt=str)
    assert '<circle class="dot"' in one
    assert "<path" not in one


@pytest.mark.parametrize(("value", "top"), [(0, 1), (0.07, 0.1), (0.13, 0.2), (2.3, 2.5), (430, 500), (12_000, 20_000)])
def test_the_axis_tops_out_at_a_round_number(value, top):
    assert nice_ceiling(value) == pytest.approx(top)


# --- the admin: tidy, and read-only for money rows ----------------------------------------------------------


@pytest.fixture
def root(db: None) -> User:
    return User.objects.create_superuser(email="root@example.org", password=PASSWORD, full_name="Dana Admin")


def test_every_admin_list_opens(root, paying):
    paying()
    client = _client(root)

    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        assert client.get(url, {"q": "1"}).status_code == 200, url


def test_a_ledger_row_cannot_be_added_changed_or_deleted_through_the_admin(root, paying):
    paying()
    journal, transfer = Journal.objects.first(), Transfer.objects.first()
    client = _client(root)

    for row in (journal, transfer):
        name = f"admin:ledger_{row._meta.model_name}"
        assert client.get(reverse(f"{name}_change", args=[row.pk])).status_code == 200  # view only
        changed = client.post(reverse(f"{name}_change", args=[row.pk]), {"kind": "edited", "amount_cents": 1})
        assert changed.status_code == 403
        assert client.post(reverse(f"{name}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
        assert client.get(reverse(f"{name}_add")).status_code == 403
    journal_after = Journal.objects.get(pk=journal.pk)
    assert journal_after.kind == journal.kind
    assert Transfer.objects.get(pk=transfer.pk).amount_cents == transfer.amount_cents


@pytest.mark.parametrize(
    "model",
    ["loans.repayment", "loans.repaymentsplit", "loans.loanevent", "loans.share", "loans.lendersettlement",
     "payments.stripeevent", "webhooks.webhookevent", "webhooks.webhookdelivery", "ledger.ledgeraccount"],
)  # fmt: skip
def test_money_and_log_rows_are_read_only_in_the_admin(root, model):
    model_admin = next(a for m, a in admin.site._registry.items() if m._meta.label_lower == model)
    request = type("R", (), {"user": root})()

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_a_lender_is_not_let_into_the_admin(lender):
    assert _client(lender).get("/admin/loans/loan/")["Location"].startswith("/admin/login/")
