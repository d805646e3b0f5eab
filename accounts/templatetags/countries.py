"""`{{ code|country_name }}`: a two-letter country code as its name (KE -> Kenya)."""

from django import template

from accounts.countries import country_name as _country_name

register = template.Library()


@register.filter(name="country_name")
def country_name(code: str) -> str:
    return _country_name(code)
