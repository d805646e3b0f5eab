"""The one template filter that prints money: `{{ amount_cents|money:currency }}`."""

from django import template

from lending.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount_cents: int, currency: str = "USD") -> str:
    return format_money(int(amount_cents), currency)
