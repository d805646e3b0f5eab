"""Template helpers for loan cards and pages: the initials avatar, funding progress, days left, rates,
and whether (and how much) the viewer can lend; the decisions themselves are lending.loans.selectors'."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from lending.loans import selectors
from lending.loans.models import Installment, Loan
from lending.web.payments import new_request_key

register = template.Library()
AVATAR_TONES = 6  # loans.css has .tone-0 .. .tone-5, each dark enough for white initials (WCAG AA)


@register.filter
def initials(name: str) -> str:
    """Up to two initials of a name, for the photo placeholder: 'Grace N.' -> 'GN'."""
    letters = [word[0] for word in str(name).split() if word[0].isalpha()]
    return "".join(letters[:2]).upper() or "?"


@register.filter
def avatar_tone(pk: int) -> int:
    """A stable colour for a borrower's placeholder, so neighbouring cards differ."""
    return int(pk or 0) % AVATAR_TONES


@register.filter
def funded_percent(loan: Loan) -> int:
    """Whole percent raised, rounded down: a loan shows 100% only once it is fully funded."""
    return loan.raised_cents * 100 // loan.amount_cents


@register.filter
def days_left(loan: Loan) -> int | None:
    """Days until the fundraising deadline (0 on its last day), or None when it is not fundraising."""
    if loan.status != Loan.Status.FUNDRAISING or loan.fundraising_deadline is None:
        return None
    return (loan.fundraising_deadline - timezone.localdate()).days


@register.filter
def installment_state(row: Installment) -> str:
    return selectors.installment_state(row)


@register.filter
def percent(rate: float | None) -> str:
    """A 0..1 rate as a percentage with one decimal; None (nothing to measure yet, e.g. no loan ended) in words."""
    return "Not measured yet" if rate is None else f"{rate * 100:.1f}%"


@register.filter
def cadence(loan: Loan) -> str:
    """How often the borrower repays, in words: 'every month', 'every 2 weeks'."""
    unit = str(loan.repayment_frequency)
    return f"every {loan.repayment_every} {unit}" if loan.repayment_every > 1 else f"every {unit.removesuffix('s')}"


@register.simple_tag(takes_context=True)
def lend_refusal(context: template.Context, loan: Loan, wallets: dict[str, int]) -> str:
    """Why the viewer cannot lend to this loan now, or "" if they can (see selectors.lend_refusal)."""
    user: Any = context.get("user")
    return selectors.lend_refusal(loan=loan, user=user, wallet_cents=wallets.get(loan.currency, 0))


@register.simple_tag
def lend_amounts(loan: Loan, wallets: dict[str, int]) -> list[int]:
    return selectors.lend_amounts(
        share_cents=loan.share_size_cents, left_cents=loan.remaining_cents, wallet_cents=wallets.get(loan.currency, 0)
    )


@register.simple_tag
def request_key() -> str:
    """A fresh one-time token per form: each card lends once per token, and cards never share one."""
    return new_request_key()
