"""Which URLs webhooks may call: http(s) only; outside development only https, and only public addresses.

A partner's URL is a request our servers make on their say-so (server-side request forgery): a URL
naming the cloud's metadata service, a database on the private network or the app itself must be
refused. It is checked when registered (literal addresses, and the name's current addresses) and
again before every attempt, since a name's addresses may change. DEBUG, or WEBHOOK_ALLOW_PRIVATE_URLS
(tests), allow http://127.0.0.1 and the like.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_NAMES = ("localhost", "localhost.localdomain")


def private_urls_allowed() -> bool:
    return bool(settings.DEBUG or settings.WEBHOOK_ALLOW_PRIVATE_URLS)


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _addresses(host: str, port: int, resolve: bool) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # not resolvable now: the attempt itself will fail and say so
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def url_refusal(url: str, *, resolve: bool = True) -> str | None:
    """Why `url` may not be called, or None when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "The URL is malformed (its host or its port from 0 to 65535)."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Use an http:// or https:// URL with a host name."
    if parts.username or parts.password:
        return "Put no user name or password in the URL."
    if private_urls_allowed():
        return None
    if parts.scheme != "https":
        return "Use an https:// URL."
    host = parts.hostname.rstrip(".").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return "The URL must name a public host, not this machine."
    if not all(_is_public(address) for address in _addresses(host, port, resolve)):
        return "The URL must name a public host: it points at a private, loopback or reserved address."
    return None
