"""Which URLs are called: outside development only https to public addresses (no SSRF to the metadata
service, loopback, the private network); development and tests may use http://127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from lending.webhooks.addresses import url_refusal


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS, settings.DEBUG = False, False


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hooks", "Use an https:// URL."),
        ("ftp://93.184.215.14/hooks", "Use an http:// or https:// URL"),
        ("https:///hooks", "Use an http:// or https:// URL"),
        ("https://user:pw@93.184.215.14/", "Put no user name or password"),
        ("https://93.184.215.14:99999/", "The URL is malformed"),
        ("https://[::1/hooks", "The URL is malformed"),
        ("https://localhost/hooks", "not this machine"),
        ("https://api.localhost/hooks", "not this machine"),
        ("https://127.0.0.1/hooks", "private, loopback or reserved"),
        ("https://10.1.2.3/hooks", "private, loopback or reserved"),
        ("https://192.168.0.10/hooks", "private, loopback or reserved"),
        ("https://169.254.169.254/latest/meta-data/", "private, loopback or reserved"),  # the cloud's metadata
        ("https://100.64.0.1/hooks", "private, loopback or reserved"),  # carrier-grade NAT
        ("https://0.0.0.0/hooks", "private, loopback or reserved"),
        ("https://[::1]/hooks", "private, loopback or reserved"),
        ("https://[fe80::1]/hooks", "private, loopback or reserved"),
        ("https://[::ffff:127.0.0.1]/hooks", "private, loopback or reserved"),
        ("https://224.0.0.1/hooks", "private, loopback or reserved"),
    ],
)
def test_outside_development_only_https_to_public_addresses(production, url, why):
    assert why in (url_refusal(url, resolve=False) or "")


def test_a_public_https_url_is_accepted(production):
    assert url_refusal("https://93.184.215.14/hooks", resolve=False) is None
    assert url_refusal("https://[2606:4700::1111]:8443/hooks", resolve=False) is None


def test_a_name_that_resolves_to_a_private_address_is_refused(production, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        address = "10.0.0.7" if host == "evil.example" else "93.184.215.14"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    assert "private" in (url_refusal("https://evil.example/hooks") or "")
    assert url_refusal("https://partner.example/hooks") is None


def test_a_name_that_does_not_resolve_now_is_left_to_the_attempt(production, monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror("no such name")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    assert url_refusal("https://not-yet.example/hooks") is None


def test_development_and_tests_may_use_http_on_this_machine(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True

    assert url_refusal("http://127.0.0.1:8000/hooks") is None
    assert url_refusal("ftp://127.0.0.1/hooks") is not None
