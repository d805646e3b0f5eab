"""The one template filter that prints money: `{{ amount_cents|money:currency }}`."""

from django import template
from django.conf import settings

from lending.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount_cents: int, currency: str | None = None) -> str:
    """Minor units as a person reads them, in `currency` (default: the platform's)."""
    return format_money(int(amount_cents), currency or settings.PLATFORM_CURRENCY)
