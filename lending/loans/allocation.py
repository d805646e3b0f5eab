"""Allocate a payment to installments: oldest first, and within each installment in a set order.

Pure Python. Whatever the payment, the parts plus the leftover equal it exactly, no installment
component is paid beyond what is due, and a later installment is touched only once every earlier
one is paid in full (so a prepayment simply runs on into the next installments).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PARTS = ("fees", "interest", "principal")


@dataclass(frozen=True, slots=True)
class Due:
    """What is still owed on one installment."""

    key: int
    fees: int
    interest: int
    principal: int


@dataclass(frozen=True, slots=True)
class Paid:
    key: int
    fees: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.fees + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class Allocation:
    paid: list[Paid]
    leftover: int  # more than everything owed: the borrower's credit

    def sum_of(self, part: str) -> int:
        return sum(getattr(p, part) for p in self.paid)


def parse_order(order: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in order.split(","))
    if sorted(parts) != sorted(PARTS):
        raise ValueError(f"allocation order must name {', '.join(PARTS)} once each, got {order!r}")
    return parts


def allocate(amount: int, dues: Sequence[Due], order: Sequence[str] = PARTS) -> Allocation:
    """Pay `amount` into `dues` (oldest first) component by component in `order`."""
    if amount < 0:
        raise ValueError("cannot allocate a negative amount")
    remaining = amount
    paid = []
    for due in dues:
        if remaining == 0:
            break
        taken = {}
        for part in order:
            take = min(remaining, getattr(due, part))
            taken[part] = take
            remaining -= take
        if any(taken.values()):
            paid.append(Paid(key=due.key, **taken))
    return Allocation(paid=paid, leftover=remaining)
