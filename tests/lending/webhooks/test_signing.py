"""Signatures as an integrator checks them: a round trip verifies; another body, another secret, an old or
future timestamp, or a mangled header does not; during a rotation either secret verifies."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from lending.webhooks.signing import compute_signature, signature_header, verify_signature

SECRET = "whsec_test_secret"
BODY = b'{"id":"e1","type":"loan.funded"}'
T = 1_767_225_600


def test_the_header_is_t_and_the_hmac_of_t_dot_body():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert signature_header([SECRET], BODY, timestamp=T) == f"t={T},v1={expected}"
    assert compute_signature(SECRET, T, BODY) == expected


def test_a_signed_body_verifies_within_the_tolerance():
    header = signature_header([SECRET], BODY, timestamp=T)

    assert verify_signature(SECRET, header, BODY, now=T)
    assert verify_signature(SECRET, header, BODY, tolerance_seconds=300, now=T + 300)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        (SECRET, BODY + b" ", T),  # tampered body
        (SECRET, BODY.replace(b"funded", b"defaulted"), T),
        ("whsec_other", BODY, T),  # someone else's secret
        (SECRET, BODY, T + 301),  # too old: a replay
        (SECRET, BODY, T - 301),  # from the future
    ],
)
def test_a_tampered_body_another_secret_or_an_old_timestamp_does_not_verify(secret, body, now):
    header = signature_header([SECRET], BODY, timestamp=T)

    assert not verify_signature(secret, header, body, now=now)


@pytest.mark.parametrize("header", ["", "garbage", f"t={T}", "v1=abc", f"t=soon,v1={'0' * 64}", f"t={T},v1="])
def test_a_mangled_header_does_not_verify(header):
    assert not verify_signature(SECRET, header, BODY, now=T)


def test_a_changed_timestamp_breaks_the_signature():
    header = signature_header([SECRET], BODY, timestamp=T).replace(f"t={T}", f"t={T + 10}")

    assert not verify_signature(SECRET, header, BODY, now=T + 10)


def test_during_a_rotation_the_header_verifies_with_either_secret():
    header = signature_header(["whsec_new", "whsec_old"], BODY, timestamp=T)

    assert header.count("v1=") == 2
    assert verify_signature("whsec_new", header, BODY, now=T)
    assert verify_signature("whsec_old", header, BODY, now=T)
    assert not verify_signature("whsec_third", header, BODY, now=T)
