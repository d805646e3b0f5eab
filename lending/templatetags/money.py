"""The template filters that print money and dates in the reader's locale (lending.web.locale):
`{{ amount_cents|money:currency }}`, `{{ a_date|day }}` (Nov 27, 2026) and `{{ a_date|day_long }}`."""

from datetime import date

from django import template
from django.conf import settings
from django.utils.dateformat import format as date_format

from lending.money import format_money
from lending.web.locale import current_formats

register = template.Library()


@register.filter(name="money")
def money(amount_cents: int, currency: str | None = None) -> str:
    """Minor units as a person reads them, in `currency` (default: the platform's)."""
    marks = current_formats()
    return format_money(
        int(amount_cents), currency or settings.PLATFORM_CURRENCY,
        decimal_mark=marks.decimal_mark, group_mark=marks.group_mark,
    )  # fmt: skip


@register.filter(name="day")
def day(value: date | None) -> str:
    """A date, short: 'Nov 27, 2026' (en-US) or '27 Nov 2026' (most other places)."""
    return date_format(value, current_formats().day) if isinstance(value, date) else ""


@register.filter(name="day_long")
def day_long(value: date | None) -> str:
    """A date with the month in full: 'November 27, 2026' or '27 November 2026'."""
    return date_format(value, current_formats().day_long) if isinstance(value, date) else ""
