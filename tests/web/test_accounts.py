"""Account pages: sign up, log in behind the lockout, log out, password reset and change, profile and
notification settings. Bad input comes back next to its field and writes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import lockout
from accounts import services as people
from accounts.models import LenderProfile, LoginFailure, LoginLock, Role, User
from lending.notifications.models import NotificationPreference
from lending.web.accounts import lender_landing
from tests.factories import LenderFactory, UserFactory

PASSWORD = "correct-horse-battery"  # the factories' password
NEW_PASSWORD = "maple-lantern-orbit-77"
SIGNUP = {"full_name": "Nia Lender", "email": "nia@example.org", "password": "quiet-river-stone-88", "country": "KE"}


def _ann() -> User:
    return LenderFactory(email="ann@example.org", full_name="Ann Lee")


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows() -> tuple[int, int, int]:
    return User.objects.count(), LenderProfile.objects.count(), NotificationPreference.objects.count()


def _fail(client: Client, email: str = "ann@example.org", times: int = 1, **extra: str):
    response = None
    for _ in range(times):
        response = client.post("/accounts/login/", {"username": email, "password": "wrong-horse-battery"}, **extra)
    return response


def _logged_in_as(client: Client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


# --- sign up --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_signup_page_has_a_labelled_field_for_each_input(client):
    response = client.get("/accounts/signup/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Create your lender account</h1>" in page
    for name, label in [("full_name", "Your name"), ("email", "Email"), ("password", "Password")]:
        assert f'<label for="id_{name}">{label}' in page
        assert f'name="{name}"' in page
    assert '<label for="id_country">Country you lend from' in page
    assert '<option value="KE">Kenya</option>' in page
    assert 'id="id_password_helptext"' in page  # Django's password rules, read out with the field
    assert 'aria-describedby="id_password_helptext"' in page
    assert "csrfmiddlewaretoken" in page
    assert "Create account</button>" in page


@pytest.mark.django_db
def test_signing_up_creates_a_lender_with_a_profile_logs_them_in_and_sends_them_to_their_money(client):
    response = client.post("/accounts/signup/", SIGNUP)

    assert response.status_code == 302
    assert response["Location"] == lender_landing()
    user = User.objects.get(email="nia@example.org")
    assert user.role == Role.LENDER
    assert user.full_name == "Nia Lender"
    assert user.check_password("quiet-river-stone-88")
    assert (user.lender_profile.display_name, user.lender_profile.country) == ("Nia Lender", "KE")
    assert _logged_in_as(client) == user.pk
    assert "Welcome, Nia!" in client.get("/").content.decode()


@pytest.mark.django_db
def test_signup_with_every_field_empty_says_so_next_to_each_field_and_writes_nothing(client):
    before = _rows()

    response = client.post("/accounts/signup/", {"full_name": "", "email": "", "password": "", "country": ""})

    page = response.content.decode()
    assert response.status_code == 400
    assert _rows() == before
    assert "Please correct the 4 fields marked below." in page
    for name in ("full_name", "email", "password", "country"):
        assert f'id="id_{name}_error"' in page
    assert re.search(r'<input type="email" name="email"[^>]*aria-invalid="true"', page)
    assert re.search(r'name="email"[^>]*aria-describedby="id_email_error"', page)
    assert _logged_in_as(client) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short. It must contain at least 8 characters."),
        ("password", "This password is too common."),
        ("83920175628", "This password is entirely numeric."),
        ("nia@example.org", "The password is too similar to the email."),
    ],
)
def test_signup_refuses_a_password_django_validators_refuse_with_the_reason_under_the_password(
    client, password, message
):
    before = _rows()

    response = client.post("/accounts/signup/", {**SIGNUP, "password": password})

    page = response.content.decode()
    assert response.status_code == 400
    assert _rows() == before
    errors = re.search(r'<ul class="field-errors" id="id_password_error">(.*?)</ul>', page, re.S)
    assert errors
    assert message in errors.group(1)
    assert 'value="nia@example.org"' in page  # what was typed stays, except the password
    assert password not in page.split('id="id_password"')[1].split(">")[0]


@pytest.mark.django_db
def test_signup_with_an_email_already_taken_in_any_case_says_so_under_the_email(client):
    _ann()
    before = _rows()

    response = client.post("/accounts/signup/", {**SIGNUP, "email": "ANN@example.org"})

    assert response.status_code == 400
    assert _rows() == before
    errors = re.search(r'id="id_email_error">(.*?)</ul>', response.content.decode(), re.S)
    assert errors
    assert "A user with this email already exists." in errors.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("country", ["XX", "Kenya", "k"])
def test_signup_refuses_a_country_not_in_the_list(client, country):
    before = _rows()

    response = client.post("/accounts/signup/", {**SIGNUP, "country": country})

    assert response.status_code == 400
    assert _rows() == before
    assert 'id="id_country_error"' in response.content.decode()


@pytest.mark.django_db
def test_signup_refuses_a_malformed_email(client):
    before = _rows()

    response = client.post("/accounts/signup/", {**SIGNUP, "email": "nia-at-example"})

    assert response.status_code == 400
    assert _rows() == before
    assert "Enter a valid email address." in response.content.decode()


@pytest.mark.django_db
def test_signup_without_a_csrf_token_is_refused(db):
    client = Client(enforce_csrf_checks=True)
    before = _rows()

    response = client.post("/accounts/signup/", SIGNUP)

    assert response.status_code == 403
    assert _rows() == before


@pytest.mark.django_db
def test_a_logged_in_user_who_opens_sign_up_is_sent_home(client):
    client.force_login(_ann())

    response = client.get("/accounts/signup/")

    assert response.status_code == 302
    assert response["Location"] == "/"


# --- log in and log out ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_labels_its_fields_and_links_to_reset_and_sign_up(client):
    page = client.get("/accounts/login/").content.decode()

    assert '<label for="id_username">Email' in page
    assert '<label for="id_password">Password' in page
    assert 'type="email" name="username"' in page
    assert 'href="/accounts/password/reset/"' in page
    assert 'href="/accounts/signup/"' in page


@pytest.mark.django_db
def test_login_with_an_empty_form_says_which_fields_are_missing(client):
    response = client.post("/accounts/login/", {"username": "", "password": ""})

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_username_error"' in page
    assert 'id="id_password_error"' in page
    assert LoginFailure.objects.count() == 0  # nothing was tried, nothing is counted


@pytest.mark.django_db
def test_login_ignores_a_next_page_on_another_site(client):
    _ann()

    response = client.post(
        "/accounts/login/", {"username": "ann@example.org", "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_a_logged_in_user_who_opens_log_in_goes_to_the_next_page(client):
    client.force_login(_ann())

    response = client.get("/accounts/login/?next=/wallet/")

    assert response.status_code == 302
    assert response["Location"] == "/wallet/"


@pytest.mark.django_db
def test_logout_needs_a_post_and_then_logs_out(client):
    client.force_login(_ann())

    assert client.get("/accounts/logout/").status_code == 405
    assert _logged_in_as(client) is not None
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_as(client) is None
    assert "You have logged out." in client.get("/").content.decode()


# --- the lockout ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_email_with_a_message_saying_until_when(client):
    _ann()

    fourth = _fail(client, times=4)
    fifth = _fail(client)

    assert fourth.status_code == 200
    assert "Your email and password didn" in fourth.content.decode()
    assert fifth.status_code == 429
    page = fifth.content.decode()
    lock = LoginLock.objects.get(kind="email", key="ann@example.org")
    until = timezone.localtime(lock.locked_until)
    assert "Too many failed attempts to log in." in page
    assert f"paused until {until:%H:%M} UTC (about 15 minutes)" in page
    assert 'href="/accounts/password/reset/">Reset your password' in page
    assert 840 <= int(fifth["Retry-After"]) <= 900
    assert lock.locked_until - timezone.now() > timedelta(minutes=14)


@pytest.mark.django_db
def test_the_right_password_during_the_lock_is_still_refused(client):
    _ann()
    _fail(client, times=5)

    response = client.post("/accounts/login/", {"username": "ann@example.org", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert _logged_in_as(client) is None
    assert authenticate(username="ann@example.org", password=PASSWORD) is None  # every door is locked


@pytest.mark.django_db
def test_the_lock_ends_after_its_time_and_the_right_password_works_again(client):
    _ann()
    _fail(client, times=5)
    LoginLock.objects.update(locked_until=timezone.now() - timedelta(seconds=1))  # 15 minutes later

    response = client.post("/accounts/login/", {"username": "ann@example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert _logged_in_as(client) is not None


@pytest.mark.django_db
def test_after_a_lock_ends_the_count_starts_again(client):
    _ann()
    _fail(client, times=5)
    LoginLock.objects.update(locked_until=timezone.now() - timedelta(seconds=1))

    again = _fail(client)

    assert again.status_code == 200
    assert "Your email and password didn" in again.content.decode()
    assert not LoginLock.objects.filter(locked_until__gt=timezone.now()).exists()


@pytest.mark.django_db
@override_settings(LOGIN_LOCKOUT_ATTEMPTS=3, LOGIN_LOCKOUT_MINUTES=2)
def test_the_limit_and_the_length_of_the_lock_are_settings(client):
    _ann()

    assert _fail(client, times=2).status_code == 200
    response = _fail(client)

    assert response.status_code == 429
    assert "(about 2 minutes)" in response.content.decode()


@pytest.mark.django_db
def test_an_email_without_an_account_is_locked_alike_so_locks_tell_nothing(client):
    _fail(client, email="nobody@example.org", times=4)

    response = _fail(client, email="nobody@example.org")

    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()


@pytest.mark.django_db
def test_one_locked_email_leaves_other_emails_free(client):
    _ann()
    bob = LenderFactory(email="bob@example.org")
    _fail(client, times=5)

    response = client.post("/accounts/login/", {"username": "bob@example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert _logged_in_as(client) == bob.pk


@pytest.mark.django_db
@override_settings(LOGIN_LOCKOUT_ADDRESS_ATTEMPTS=3)
def test_failures_from_one_address_over_many_emails_lock_that_address_only(client):
    ann = _ann()
    for n in range(3):
        _fail(client, email=f"guess{n}@example.org", REMOTE_ADDR="203.0.113.9")

    from_there = client.post(
        "/accounts/login/", {"username": "ann@example.org", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )
    from_elsewhere = client.post(
        "/accounts/login/", {"username": "ann@example.org", "password": PASSWORD}, REMOTE_ADDR="198.51.100.4"
    )

    assert from_there.status_code == 429
    assert from_elsewhere.status_code == 302
    assert _logged_in_as(client) == ann.pk


@pytest.mark.django_db
@override_settings(LOGIN_LOCKOUT_ADDRESS_ATTEMPTS=3)
def test_an_invented_forwarded_for_header_does_not_escape_the_address_count(client):
    for n in range(3):
        _fail(client, email=f"guess{n}@example.org", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")

    assert LoginLock.objects.filter(kind="address", key="203.0.113.9").exists()


@pytest.mark.django_db
def test_a_success_clears_the_emails_count(client):
    _ann()
    _fail(client, times=4)
    assert client.post("/accounts/login/", {"username": "ann@example.org", "password": PASSWORD}).status_code == 302
    client.post("/accounts/logout/")

    assert _fail(client, times=4).status_code == 200  # four more: still not locked


@pytest.mark.django_db
def test_the_admin_log_in_is_locked_too(client):
    staff = people.platform_staff_create(email="boss@example.org", password=PASSWORD, full_name="Boss")
    for _ in range(5):
        client.post("/admin/login/", {"username": "boss@example.org", "password": "wrong-horse-battery"})

    response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})

    assert response.status_code == 200  # the form again, not the admin
    assert _logged_in_as(client) is None


@pytest.mark.django_db
def test_failures_spread_wider_than_the_window_never_lock():
    attempt = lockout.Attempt(email="ann@example.org", address="192.0.2.1")
    start = timezone.now()

    for n in range(10):  # one every 4 minutes: never 5 within 15 minutes
        until = lockout.login_failure_record(attempt=attempt, now=start + timedelta(minutes=4 * n))

    assert until is None
    assert lockout.login_locked_until(attempt=attempt, now=start + timedelta(minutes=36)) is None


@pytest.mark.django_db
def test_the_lock_lasts_its_minutes_from_the_failure_that_reached_the_limit_and_not_a_second_more():
    attempt = lockout.Attempt(email="ann@example.org")
    start = timezone.now()
    for n in range(4):
        lockout.login_failure_record(attempt=attempt, now=start + timedelta(minutes=n))
    fifth = start + timedelta(minutes=10)

    until = lockout.login_failure_record(attempt=attempt, now=fifth)

    assert until == fifth + timedelta(minutes=15)
    assert lockout.login_locked_until(attempt=attempt, now=until - timedelta(seconds=1)) == until
    assert lockout.login_locked_until(attempt=attempt, now=until) is None


@pytest.mark.django_db
def test_attempts_while_locked_do_not_stretch_the_lock():
    attempt = lockout.Attempt(email="ann@example.org")
    start = timezone.now()
    for n in range(5):
        lockout.login_failure_record(attempt=attempt, now=start + timedelta(seconds=n))
    until = start + timedelta(seconds=4, minutes=15)

    for n in range(20):
        assert lockout.login_failure_record(attempt=attempt, now=start + timedelta(minutes=n % 14 + 1)) == until

    assert LoginFailure.objects.filter(kind="email").count() == 0


@pytest.mark.django_db
def test_old_failures_and_ended_locks_are_swept_away():
    old = lockout.Attempt(email="old@example.org", address="192.0.2.1")
    start = timezone.now()
    for n in range(5):
        lockout.login_failure_record(attempt=old, now=start + timedelta(seconds=n))

    lockout.login_failure_record(attempt=lockout.Attempt(email="new@example.org"), now=start + timedelta(hours=1))

    assert list(LoginFailure.objects.values_list("key", flat=True)) == ["new@example.org"]
    assert not LoginLock.objects.exists()


# --- password reset, end to end -------------------------------------------------------------------


def _reset_link(body: str) -> str:
    return re.search(r"http://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)", body).group(1)


@pytest.mark.django_db
def test_password_reset_by_email_end_to_end(client):
    ann = _ann()

    assert "<h1>Reset your password</h1>" in client.get("/accounts/password/reset/").content.decode()
    response = client.post("/accounts/password/reset/", {"email": "ANN@example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert "Check your email" in client.get(response["Location"]).content.decode()

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ann@example.org"]
    assert email.subject == "Reset your Lend a hand password"
    assert "Hello Ann," in email.body
    link = _reset_link(email.body)
    html, kind = email.alternatives[0]
    assert kind == "text/html"
    assert link in html

    form_url = client.get(link)["Location"]  # Django swaps the token for a session and a set-password URL
    page = client.get(form_url).content.decode()
    assert "<h1>Choose a new password</h1>" in page
    assert '<label for="id_new_password1">New password' in page
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/password/reset/done/"
    assert "Your password is changed" in client.get(done["Location"]).content.decode()

    ann.refresh_from_db()
    assert ann.check_password(NEW_PASSWORD)
    assert client.post("/accounts/login/", {"username": "ann@example.org", "password": NEW_PASSWORD}).status_code == 302
    assert client.get(link).status_code == 200  # used once: now it is dead
    assert "This link no longer works" in client.get(link).content.decode()


@pytest.mark.django_db
def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


@pytest.mark.django_db
def test_password_reset_with_a_malformed_email_says_so_under_the_field(client):
    response = client.post("/accounts/password/reset/", {"email": "ann-at-example"})

    assert response.status_code == 200
    assert 'id="id_email_error"' in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_new_password_that_does_not_match_or_is_weak_is_refused_and_the_old_one_stays(client):
    ann = _ann()
    client.post("/accounts/password/reset/", {"email": "ann@example.org"})
    form_url = client.get(_reset_link(mail.outbox[0].body))["Location"]

    mismatch = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    weak = client.post(form_url, {"new_password1": "password", "new_password2": "password"})

    assert "The two password fields didn\u2019t match." in mismatch.content.decode()
    assert 'id="id_new_password2_error"' in mismatch.content.decode()
    assert "This password is too common." in weak.content.decode()
    ann.refresh_from_db()
    assert ann.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_forged_reset_link_is_refused(client):
    ann = _ann()

    page = client.get(f"/accounts/password/reset/{ann.pk}/not-a-token/").content.decode()

    assert "This link no longer works" in page
    assert 'href="/accounts/password/reset/"' in page


@pytest.mark.django_db
def test_resetting_the_password_ends_the_emails_lock(client):
    _ann()
    _fail(client, times=5)
    client.post("/accounts/password/reset/", {"email": "ann@example.org"})
    form_url = client.get(_reset_link(mail.outbox[0].body))["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.post("/accounts/login/", {"username": "ann@example.org", "password": NEW_PASSWORD})

    assert response.status_code == 302
    assert not LoginLock.objects.filter(kind="email").exists()


# --- password change ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_change_needs_a_login(client):
    response = client.get("/accounts/password/change/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/password/change/"


@pytest.mark.django_db
def test_changing_the_password_needs_the_old_one(client):
    ann = _ann()
    client.force_login(ann)

    wrong = client.post(
        "/accounts/password/change/",
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    right = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert 'id="id_old_password_error"' in wrong.content.decode()
    assert right.status_code == 302
    assert right["Location"] == "/accounts/password/change/done/"
    ann.refresh_from_db()
    assert ann.check_password(NEW_PASSWORD)


# --- profile and notification settings ------------------------------------------------------------


@pytest.mark.django_db
def test_profile_needs_a_login(client):
    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/profile/"


@pytest.mark.django_db
def test_a_lenders_profile_shows_their_details_and_notification_settings():
    ann = _ann()
    NotificationPreference.objects.create(lender=ann, repayments=True, funded=False, late=True)

    page = _logged_in(ann).get("/accounts/profile/").content.decode()

    assert '<h1 id="profile-heading">Your profile</h1>' in page
    assert 'data-testid="profile-email">ann@example.org<' in page
    assert 'name="full_name" value="Ann Lee"' in page
    assert 'name="display_name" value="Ann Lee"' in page
    assert re.search(r'name="is_public"[^>]*checked', page)
    assert '<option value="US" selected>United States</option>' in page
    assert re.search(r'name="repayments"[^>]*checked', page)
    assert not re.search(r'name="funded"[^>]*checked', page)
    assert "Save notification settings</button>" in page


@pytest.mark.django_db
def test_a_lender_saves_their_profile():
    ann = _ann()
    client = _logged_in(ann)

    response = client.post(
        "/accounts/profile/",
        {"full_name": "Ann B. Lee", "display_name": "Annie", "country": "GB", "town": "Leeds"},  # is_public unticked
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    ann.refresh_from_db()
    profile = ann.lender_profile
    assert ann.full_name == "Ann B. Lee"
    assert (profile.display_name, profile.is_public, profile.country, profile.town) == ("Annie", False, "GB", "Leeds")
    assert "Your profile is saved." in client.get("/accounts/profile/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("full_name", ""), ("display_name", "   "), ("country", "XX"), ("display_name", "x" * 101)],
)
def test_a_bad_profile_comes_back_with_the_message_under_the_field_and_nothing_saved(field, value):
    ann = _ann()
    data = {"full_name": "Ann Lee", "display_name": "Annie", "is_public": "on", "country": "GB", field: value}

    response = _logged_in(ann).post("/accounts/profile/", data)

    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    ann.refresh_from_db()
    assert (ann.full_name, ann.lender_profile.display_name, ann.lender_profile.country) == ("Ann Lee", "Ann Lee", "US")


@pytest.mark.django_db
def test_a_lender_without_a_profile_row_gets_one_on_saving():
    user = UserFactory(role=Role.LENDER, full_name="Pat Doe")
    client = _logged_in(user)
    assert 'name="display_name" value="Pat Doe"' in client.get("/accounts/profile/").content.decode()

    client.post("/accounts/profile/", {"full_name": "Pat Doe", "display_name": "Pat", "country": ""})

    assert LenderProfile.objects.get(user=user).display_name == "Pat"


@pytest.mark.django_db
def test_a_lender_chooses_their_notifications():
    ann = _ann()
    client = _logged_in(ann)

    response = client.post("/accounts/profile/notifications/", {"repayments": "on", "late": "on"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    prefs = NotificationPreference.objects.get(lender=ann)
    assert (prefs.repayments, prefs.funded, prefs.late) == (True, False, True)
    page = client.get("/accounts/profile/").content.decode()
    assert "Your notification settings are saved." in page
    assert not re.search(r'name="funded"[^>]*checked', page)

    client.post("/accounts/profile/notifications/", {"funded": "on"})
    prefs.refresh_from_db()
    assert (prefs.repayments, prefs.funded, prefs.late) == (False, True, False)
    assert NotificationPreference.objects.count() == 1


@pytest.mark.django_db
def test_notification_settings_are_for_lenders_only(client, officer, staff):
    assert client.post("/accounts/profile/notifications/", {"funded": "on"}).status_code == 302  # to log in
    for user in (officer, staff):
        response = _logged_in(user).post("/accounts/profile/notifications/", {"funded": "on"})
        assert response.status_code == 403
    assert _logged_in(_ann()).get("/accounts/profile/notifications/").status_code == 405
    assert NotificationPreference.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["officer", "staff", "borrower_user"])
def test_borrowers_and_staff_have_a_profile_with_name_and_email_only(who, request):
    if who == "borrower_user":
        user = people.borrower_create(
            display_name="Farida N.", country="UG", email="farida@example.org", password="tea-garden-ledger-42"
        ).user
    else:
        user = request.getfixturevalue(who)
    client = _logged_in(user)

    page = client.get("/accounts/profile/").content.decode()
    saved = client.post("/accounts/profile/", {"full_name": "New Name"})
    refused = client.post("/accounts/profile/", {"full_name": "  "})

    assert f'data-testid="profile-email">{user.email}<' in page
    assert 'name="full_name"' in page
    assert 'name="display_name"' not in page
    assert 'name="is_public"' not in page
    assert "Email notifications" not in page
    assert saved.status_code == 302
    assert refused.status_code == 400
    assert 'id="id_full_name_error"' in refused.content.decode()
    user.refresh_from_db()
    assert user.full_name == "New Name"
    assert not LenderProfile.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_the_profile_page_runs_a_fixed_number_of_queries():
    ann = _ann()
    client = _logged_in(ann)
    client.get("/accounts/profile/")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/accounts/profile/").status_code == 200

    assert len(queries) <= 4  # session, user, lender profile, notification preferences
