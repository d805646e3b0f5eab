"""API keys: created with the full key shown once and only its prefix and SHA-256 stored, refused for a bad
name, scopes or user; `Authorization: Bearer lk_...` acting as the key's user, a bad or revoked key a 401
with `WWW-Authenticate: Bearer`, `last_used_at` written at most once a minute, `require_scope`, and the
`api_key_create` / `api_key_revoke` management commands."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts import services as people
from accounts.models import User
from lending.api.keys import api_key_create, api_key_revoke, require_scope
from lending.api.models import ApiKey
from tests.factories import LenderFactory

pytestmark = pytest.mark.django_db

WALLET = "/api/v1/wallet/"


def _bearer(full_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    return client


def _assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "authentication_failed"


# --- creating a key ------------------------------------------------------------------------------


def test_a_new_key_is_returned_in_full_once_and_only_its_prefix_and_sha256_are_stored(lender):
    key, full = api_key_create(user=lender, name="  Nightly export  ", scopes=["wallet:read", "loans:read"])

    prefix, secret = full.removeprefix("lk_").split("_", 1)
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    assert full.startswith("lk_")
    assert row["prefix"] == prefix
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["name"] == "Nightly export"
    assert row["scopes"] == ["loans:read", "wallet:read"]
    assert (row["last_used_at"], row["revoked_at"]) == (None, None)
    assert all(secret not in str(value) and full not in str(value) for value in row.values())
    assert secret not in str(key)


def test_two_keys_of_one_user_have_different_prefixes_and_secrets(lender):
    _, first = api_key_create(user=lender, name="one", scopes=["wallet:read"])
    _, second = api_key_create(user=lender, name="two", scopes=["wallet:read"])

    assert first.split("_")[1] != second.split("_")[1]
    assert first != second


@pytest.mark.parametrize(
    ("name", "scopes", "field"),
    [
        ("", ["wallet:read"], "name"),
        ("   ", ["wallet:read"], "name"),
        ("x" * 101, ["wallet:read"], "name"),
        ("export", [], "scopes"),
        ("export", ["wallet:read", "wallet:everything"], "scopes"),
        ("export", ["admin"], "scopes"),
    ],
)
def test_a_key_with_a_bad_name_or_scopes_is_refused_naming_the_field(lender, name, scopes, field):
    with pytest.raises(ValidationError) as refused:
        api_key_create(user=lender, name=name, scopes=scopes)

    assert list(refused.value.message_dict) == [field]
    assert not ApiKey.objects.exists()


def test_an_inactive_user_cannot_have_a_key(lender):
    lender.is_active = False
    lender.save(update_fields=["is_active"])

    with pytest.raises(ValidationError) as refused:
        api_key_create(user=lender, name="export", scopes=["wallet:read"])

    assert list(refused.value.message_dict) == ["user"]
    assert not ApiKey.objects.exists()


# --- authenticating with a key ---------------------------------------------------------------------


def test_a_bearer_key_authenticates_as_its_user():
    ann = LenderFactory()
    _, full = api_key_create(user=ann, name="budget app", scopes=["wallet:read"])

    response = _bearer(full).get(WALLET)

    assert response.status_code == 200, response.content
    assert response.json()["available_cents"] == 0
    assert response.wsgi_request.user == ann


def test_a_key_acts_as_its_user_so_the_users_own_rules_still_apply():
    staff = people.platform_staff_create(email="staff-keys@example.org", password=None, full_name="Sam Staff")
    _, full = api_key_create(user=staff, name="ops", scopes=["wallet:read"])

    response = _bearer(full).get(WALLET)

    assert response.status_code == 403  # staff have no wallet, whatever the key's scopes
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_wrong_secret_is_a_401_with_www_authenticate_bearer(lender):
    _, full = api_key_create(user=lender, name="export", scopes=["wallet:read"])
    wrong = full[:-4] + ("AAAA" if not full.endswith("AAAA") else "BBBB")

    _assert_refused(_bearer(wrong).get(WALLET))


def test_an_unknown_prefix_is_a_401(lender):
    _, full = api_key_create(user=lender, name="export", scopes=["wallet:read"])
    _, prefix, secret = full.split("_", 2)

    _assert_refused(_bearer(f"lk_{'0' * 12 if prefix != '0' * 12 else '1' * 12}_{secret}").get(WALLET))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer lk_",
        "Bearer lk__",
        "Bearer lk_0123456789ab",
        "Bearer lk_0123456789ab_",
        "Bearer lk__secretwithoutprefix",
        "Bearer lk_0123456789ab_not the secret",
    ],
)
def test_a_malformed_key_is_a_401(lender, header):
    api_key_create(user=lender, name="export", scopes=["wallet:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    _assert_refused(client.get(WALLET))


def test_a_revoked_key_is_a_401_like_an_unknown_one(lender):
    key, full = api_key_create(user=lender, name="export", scopes=["wallet:read"])
    assert _bearer(full).get(WALLET).status_code == 200

    api_key_revoke(key=key)
    api_key_revoke(key=key)  # twice: still revoked, at the first moment

    _assert_refused(_bearer(full).get(WALLET))
    assert ApiKey.objects.get(pk=key.pk).revoked_at == key.revoked_at


def test_the_key_of_a_user_made_inactive_later_is_a_401(lender):
    _, full = api_key_create(user=lender, name="export", scopes=["wallet:read"])
    User.objects.filter(pk=lender.pk).update(is_active=False)

    _assert_refused(_bearer(full).get(WALLET))


def test_a_bad_key_is_refused_even_on_a_public_endpoint():
    response = _bearer("lk_0123456789ab_nope").get("/api/v1/loans/")

    _assert_refused(response)


def test_last_used_at_is_written_on_use_but_at_most_once_a_minute(lender):
    key, full = api_key_create(user=lender, name="export", scopes=["wallet:read"])
    client = _bearer(full)

    client.get(WALLET)
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    client.get(WALLET)
    second = ApiKey.objects.get(pk=key.pk).last_used_at
    an_hour_ago = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=an_hour_ago)
    client.get(WALLET)
    third = ApiKey.objects.get(pk=key.pk).last_used_at

    assert first is not None
    assert timezone.now() - first < timedelta(minutes=1)
    assert second == first
    assert third > an_hour_ago + timedelta(minutes=59)


def test_a_failed_attempt_does_not_count_as_use(lender):
    key, full = api_key_create(user=lender, name="export", scopes=["wallet:read"])

    _bearer(full + "x").get(WALLET)

    assert ApiKey.objects.get(pk=key.pk).last_used_at is None


def test_session_users_still_authenticate_without_a_key(lender):
    client = APIClient()
    client.force_login(lender)

    assert client.get(WALLET).status_code == 200


# --- require_scope ---------------------------------------------------------------------------------


class _Scoped(APIView):
    permission_classes = [require_scope("repayments:write")]

    def get(self, request):
        from rest_framework.response import Response

        return Response({"ok": True})


def _scoped_request(user: User, auth: object):
    request = APIRequestFactory().get("/scoped/")
    force_authenticate(request, user=user, token=auth)
    return _Scoped.as_view()(request)


def test_require_scope_lets_a_key_with_the_scope_through(lender):
    key, _ = api_key_create(user=lender, name="mis", scopes=["repayments:write", "loans:read"])

    assert _scoped_request(lender, key).status_code == 200


def test_require_scope_refuses_a_key_without_the_scope_naming_it(lender):
    key, _ = api_key_create(user=lender, name="mis", scopes=["loans:read", "wallet:write"])

    response = _scoped_request(lender, key)

    assert response.status_code == 403
    assert "repayments:write" in response.data["error"]["message"]


def test_require_scope_lets_a_session_user_through_to_their_own_role_rules(lender):
    assert _scoped_request(lender, None).status_code == 200


def test_require_scope_through_the_repayment_batches_endpoint_refuses_a_key_without_the_scope(db):
    partner = people.field_partner_create(name="Keys Partner", country="KE")
    officer = people.partner_staff_add(
        partner=partner, email="keys-officer@example.org", password="tea-garden-ledger-42", full_name="Olga Officer"
    ).user
    _, without = api_key_create(user=officer, name="reader", scopes=["loans:read"])
    _, with_scope = api_key_create(user=officer, name="mis", scopes=["repayments:write"])

    refused = _bearer(without).post(
        "/api/v1/repayment-batches/", {"rows": []}, format="json", HTTP_IDEMPOTENCY_KEY="batch-key-0001"
    )
    allowed = _bearer(with_scope).post(
        "/api/v1/repayment-batches/", {"rows": "nope"}, format="json", HTTP_IDEMPOTENCY_KEY="batch-key-0002"
    )

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "repayments:write" in refused.json()["error"]["message"]
    assert allowed.status_code == 400  # past the permission: the body itself is refused
    assert "rows" in allowed.json()["error"]["fields"]


def test_the_wallet_needs_wallet_read_to_read_and_wallet_write_to_move_money(lender):
    _, metrics_only = api_key_create(user=lender, name="metrics", scopes=["metrics:read"])
    _, reader = api_key_create(user=lender, name="reader", scopes=["wallet:read"])

    assert _bearer(metrics_only).get(WALLET).status_code == 403
    assert _bearer(reader).get(WALLET).status_code == 200
    for path in ("/api/v1/wallet/withdrawals/", "/api/v1/wallet/deposits/"):
        response = _bearer(reader).post(path, {"amount_cents": 2_500}, format="json", HTTP_IDEMPOTENCY_KEY="key-0001")
        assert response.status_code == 403, path
        assert "wallet:write" in response.json()["error"]["message"]


# --- management commands ---------------------------------------------------------------------------


def test_api_key_create_prints_the_key_once_and_it_works(lender):
    out = StringIO()

    call_command(
        "api_key_create", "--email", lender.email.upper(), "--name", "MIS upload",
        "--scope", "wallet:read", "--scope", "loans:read", stdout=out,
    )  # fmt: skip

    lines = out.getvalue().strip().splitlines()
    full = lines[-1]
    key = ApiKey.objects.get(user=lender)
    assert full.startswith(f"lk_{key.prefix}_")
    assert out.getvalue().count(full) == 1
    assert "loans:read, wallet:read" in lines[0]
    assert key.name == "MIS upload"
    assert _bearer(full).get(WALLET).status_code == 200


def test_api_key_create_refuses_an_unknown_email(db):
    with pytest.raises(CommandError, match=r"nobody@example\.org"):
        call_command("api_key_create", "--email", "nobody@example.org", "--name", "x", "--scope", "wallet:read")

    assert not ApiKey.objects.exists()


def test_api_key_create_refuses_an_unknown_scope(lender):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("api_key_create", "--email", lender.email, "--name", "x", "--scope", "wallet:everything")

    assert not ApiKey.objects.exists()


def test_api_key_create_names_the_field_the_service_refuses(lender):
    with pytest.raises(CommandError, match=r"^name: "):
        call_command("api_key_create", "--email", lender.email, "--name", " ", "--scope", "wallet:read")

    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("form", ["prefix", "lk_prefix", "full key"])
def test_api_key_revoke_stops_the_key_at_once(lender, form):
    key, full = api_key_create(user=lender, name="export", scopes=["wallet:read"])
    other, other_full = api_key_create(user=lender, name="other", scopes=["wallet:read"])
    argument = {"prefix": key.prefix, "lk_prefix": f"lk_{key.prefix}", "full key": full}[form]
    out = StringIO()

    call_command("api_key_revoke", argument, stdout=out)

    assert f"revoked API key {key.pk}" in out.getvalue()
    _assert_refused(_bearer(full).get(WALLET))
    assert _bearer(other_full).get(WALLET).status_code == 200
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None


def test_api_key_revoke_refuses_an_unknown_prefix(db):
    with pytest.raises(CommandError, match="no API key"):
        call_command("api_key_revoke", "lk_0123456789ab")


def test_a_request_with_no_credentials_is_a_401_that_says_how_to_authenticate():
    response = APIClient().get(WALLET)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"
