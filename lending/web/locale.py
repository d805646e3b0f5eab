"""The reader's locale for numbers and dates, from their browser's Accept-Language.

The site's words are English; what follows the reader is how money and dates are written:
'$1,234.56' and 'Nov 27, 2026' in the United States, '$1.234,56' and '27. Nov 2026' in Germany.
A middleware picks the locale once per request; the `money`, `day` and `day_long` template
filters read it. A browser that asks for none we know (or a request with no header: a test, an
email) gets the international English forms, '$1,234.56' and '27 Nov 2026'.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils.translation.trans_real import parse_accept_lang_header


@dataclass(frozen=True)
class Formats:
    decimal_mark: str
    group_mark: str
    day: str  # Django date-format strings; month names stay English, as the rest of the page
    day_long: str


NARROW_NBSP = "\u202f"
_DAY_FIRST = Formats(".", ",", "j M Y", "j F Y")
LOCALES: dict[str, Formats] = {
    "en-us": Formats(".", ",", "M j, Y", "F j, Y"),
    "en-gb": _DAY_FIRST,
    "en-ke": _DAY_FIRST,
    "en-in": _DAY_FIRST,
    "en": _DAY_FIRST,
    "sw": _DAY_FIRST,
    "fr": Formats(",", NARROW_NBSP, "j M Y", "j F Y"),
    "de": Formats(",", ".", "j. M Y", "j. F Y"),
    "es": Formats(",", ".", "j M Y", "j F Y"),
    "pt": Formats(",", ".", "j M Y", "j F Y"),
    "it": Formats(",", ".", "j M Y", "j F Y"),
    "nl": Formats(",", ".", "j M Y", "j F Y"),
}

DEFAULT = "en"
_current: ContextVar[Formats | None] = ContextVar("format_locale", default=None)


def locale_from_header(header: str) -> str:
    """The first supported locale the browser asks for (exact, then its language), else international English."""
    for tag, _ in parse_accept_lang_header(header or ""):
        tag = tag.lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate in LOCALES:
                return candidate
    return DEFAULT


def current_formats() -> Formats:
    return _current.get() or LOCALES[DEFAULT]


class FormatLocaleMiddleware:
    """Set the request's number and date formats for the templates rendered while answering it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = locale_from_header(request.headers.get("Accept-Language", ""))
        request.format_locale = name  # type: ignore[attr-defined]
        token = _current.set(LOCALES[name])
        try:
            response = self.get_response(request)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # a TemplateResponse renders after the view: still inside this locale
            return response
        finally:
            _current.reset(token)
