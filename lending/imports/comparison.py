"""Kiva's recorded outcome of each imported loan next to ours, and the default rates both ways.

Kiva's figures come from the snapshot (kept on each loan's import record); ours from the loans
after the close. The rates follow lending.metrics.formulas (Kiva's own definitions): by count,
defaulted / ended (repaid or defaulted); by amount, principal still owed on defaulted loans /
amount of ended loans. Kiva's "still owed" is its funded amount less its payments, summed over its
defaulted loans (so surplus payments on one offset another, as in Kiva's published figure).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from lending.imports.models import ImportedRecord
from lending.loans.default import default_date
from lending.loans.models import Loan, Repayment
from lending.metrics.formulas import ratio

S = Loan.Status
CHUNK = 500
MAX_LISTED = 200  # differing loans printed by id; a whole Kiva snapshot would print thousands
# Kiva's status and ours for the same outcome.
SAME = {
    "paid": S.REPAID, "defaulted": S.DEFAULTED, "refunded": S.REFUNDED, "deleted": S.CANCELLED,
    "expired": S.EXPIRED, "fundraising": S.FUNDRAISING, "funded": S.FUNDED, "in_repayment": S.PAYING_BACK,
}  # fmt: skip


@dataclass
class Rates:
    """One side's ended loans: counts and amounts behind the default rate (minor units)."""

    ended_count: int = 0
    defaulted_count: int = 0
    ended_cents: int = 0
    lost_cents: int = 0  # principal still owed on defaulted loans
    repaid_cents: int = 0  # principal repaid on ended loans, recoveries included

    @property
    def by_count(self) -> Decimal | None:
        return ratio(self.defaulted_count, self.ended_count)

    @property
    def by_amount(self) -> Decimal | None:
        return ratio(self.lost_cents, self.ended_cents)


@dataclass(frozen=True)
class Difference:
    kiva_id: str
    kiva_status: str
    our_status: str
    why: str


@dataclass
class Comparison:
    as_of: str = ""
    table: Counter[tuple[str, str]] = field(default_factory=Counter)
    differences: list[Difference] = field(default_factory=list)
    kiva: Rates = field(default_factory=Rates)
    ours: Rates = field(default_factory=Rates)
    kiva_defaulted_surplus_cents: int = 0  # Kiva's payments beyond the amount on loans it calls defaulted

    def lines(self) -> list[str]:
        out = [f"Kiva's status against ours (as of {self.as_of}):", f"  {'Kiva':<14}{'ours':<14}{'loans':>7}"]
        out += [f"  {k or '(empty)':<14}{o:<14}{n:>7,}" for (k, o), n in sorted(self.table.items())]
        out.append(f"loans whose status differs: {len(self.differences)}")
        shown = self.differences[:MAX_LISTED]
        out += [f"  Kiva {d.kiva_id}: Kiva {d.kiva_status}, ours {d.our_status}: {d.why}" for d in shown]
        if len(self.differences) > len(shown):
            out.append(f"  ... and {len(self.differences) - len(shown):,} more (every one is counted in the table)")
        rows = [
            ("", "Kiva", "ours"),
            ("default rate by count", _count(self.kiva), _count(self.ours)),
            ("default rate by amount", _amount(self.kiva), _amount(self.ours)),
            ("amount repaid", _usd(self.kiva.repaid_cents), _usd(self.ours.repaid_cents)),
            ("amount lost", _usd(self.kiva.lost_cents), _usd(self.ours.lost_cents)),
        ]
        out += [f"  {label:<24}{kiva:>42}{ours:>42}" for label, kiva, ours in rows]
        out += self.explanation()
        return out

    def explanation(self) -> list[str]:
        """Why the two sides differ, in words, from the differences found."""
        kinds = Counter((d.kiva_status, d.our_status) for d in self.differences)
        out = []
        if kinds[("defaulted", S.REPAID)]:
            out.append(
                f"why: Kiva marked {kinds[('defaulted', S.REPAID)]} loan(s) defaulted that its own payments repaid "
                f"in full; our rule defaults a loan only while it still owes "
                f"{settings.LOAN_DEFAULT_AFTER_MONTHS} months after its term, judged on {self.as_of} with every "
                "payment in, so they end repaid."
            )
        if kinds[("defaulted", S.PAYING_BACK)]:
            out.append(
                f"why: Kiva defaulted {kinds[('defaulted', S.PAYING_BACK)]} loan(s) before our "
                f"{settings.LOAN_DEFAULT_AFTER_MONTHS}-month rule would: they are still paying back here."
            )
        if self.kiva_defaulted_surplus_cents:
            out.append(
                f"why the amounts differ: Kiva's lost amount nets {_usd(self.kiva_defaulted_surplus_cents)} paid "
                "beyond the amount on some defaulted loans against what the others lost; ours is only the principal "
                "still owed on the loans we defaulted."
            )
        return out


def _pct(rate: Decimal | None) -> str:
    """Three significant figures, as the data's README quotes them: 3.76 %, 0.666 %."""
    return "n/a" if rate is None else f"{float(rate * 100):.3g} %"  # display only: the rate itself stays Decimal


def _usd(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _count(r: Rates) -> str:
    return f"{r.defaulted_count:,}/{r.ended_count:,} = {_pct(r.by_count)}"


def _amount(r: Rates) -> str:
    return f"{_usd(r.lost_cents)} / {_usd(r.ended_cents)} = {_pct(r.by_amount)}"


def _why(kiva: dict, loan: Loan, principal: int) -> str:
    status, paid, amount = kiva["status"], kiva["paid_cents"], kiva["amount_cents"]
    months = settings.LOAN_DEFAULT_AFTER_MONTHS
    if status == "defaulted" and loan.status == S.REPAID:
        return f"Kiva's own payments ({_usd(paid)}) repay the {_usd(amount)} in full"
    if status == "defaulted" and loan.status == S.PAYING_BACK:
        return f"Kiva defaulted it before our {months}-month rule would (on {default_date(loan)})"
    owing = _usd(loan.amount_cents - principal)
    if status == "paid" and loan.status == S.DEFAULTED:
        return f"Kiva counts it paid, but its payments leave {owing} owing {months} months after the term"
    if status == "paid" and loan.status == S.PAYING_BACK:
        return f"its payments leave {owing} owing; our rule would default it on {default_date(loan)}"
    if status == "fundraising" and loan.status == S.EXPIRED:
        return f"its fundraising window closed on {loan.fundraising_deadline}: the close expired it"
    return "no rule of ours maps this outcome to Kiva's"


def _tally_kiva(rates: Rates, kiva: dict) -> int:
    """Add one loan to Kiva's side; returns Kiva's surplus payments on it when defaulted."""
    status = kiva["status"]
    if status not in ("paid", "defaulted"):
        return 0
    rates.ended_count += 1
    rates.ended_cents += kiva["amount_cents"]
    if status == "paid":
        rates.repaid_cents += kiva["amount_cents"]
        return 0
    rates.defaulted_count += 1
    rates.lost_cents += kiva["funded_cents"] - kiva["paid_cents"]
    rates.repaid_cents += kiva["paid_cents"]
    return max(kiva["paid_cents"] - kiva["funded_cents"], 0)


def _tally_ours(rates: Rates, loan: Loan, principal: int) -> None:
    if loan.status not in (S.REPAID, S.DEFAULTED):
        return
    rates.ended_count += 1
    rates.ended_cents += loan.amount_cents
    rates.repaid_cents += principal
    if loan.status == S.DEFAULTED:
        rates.defaulted_count += 1
        rates.lost_cents += loan.amount_cents - principal


def compare(*, batches: list[str]) -> Comparison:
    """Compare every loan imported in these batches (e.g. every page of one snapshot), in chunks."""
    result = Comparison(as_of=", ".join(b.split(":", 1)[-1] for b in batches))
    records = ImportedRecord.objects.filter(kind=ImportedRecord.Kind.LOAN, batch__in=batches).order_by("object_id")
    last = 0
    while True:
        chunk = list(records.filter(object_id__gt=last).values_list("external_id", "object_id", "details")[:CHUNK])
        if not chunk:
            return result
        last = chunk[-1][1]
        ids = [object_id for _, object_id, _ in chunk]
        loans = Loan.objects.in_bulk(ids)
        principal = dict(
            Repayment.objects.filter(loan_id__in=ids)
            .values("loan_id")
            .annotate(p=Sum("principal_cents"))
            .values_list("loan_id", "p")
        )
        for external_id, object_id, kiva in chunk:
            loan, repaid = loans[object_id], principal.get(object_id) or 0
            result.table[(kiva["status"], loan.status)] += 1
            result.kiva_defaulted_surplus_cents += _tally_kiva(result.kiva, kiva)
            _tally_ours(result.ours, loan, repaid)
            if SAME.get(kiva["status"]) != loan.status:
                why = _why(kiva, loan, repaid)
                result.differences.append(Difference(external_id, kiva["status"], loan.status, why))
