"""A field partner's public figures, as Kiva shows them: loans posted and amount raised (live), and its
delinquency rate, default rates and PAR 30 from its latest nightly snapshot, dated by that snapshot.

Everything is read in a constant number of queries: the totals and the latest snapshot's id are annotated
on the partners in one query, the snapshots are fetched in one more, however many partners are asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import CharField, Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce

from accounts.models import FieldPartner
from lending.loans.models import Loan
from lending.metrics.formulas import FORMULA_VERSION
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.selectors import group_report

S = Loan.Status
# Posted: the loan was listed for lenders once (whatever became of it since).
POSTED = [S.FUNDRAISING, S.FUNDED, S.EXPIRED, S.PAYING_BACK, S.REPAID, S.DEFAULTED, S.REFUNDED]
# Raised: lenders' money the loan holds or held; an expired or refunded loan gave its money back.
RAISED = [S.FUNDRAISING, S.FUNDED, S.PAYING_BACK, S.REPAID, S.DEFAULTED]
RATES = ["par_30", "delinquency_rate", "default_rate_by_amount", "default_rate_by_count"]


def partner_snapshots() -> QuerySet[PortfolioSnapshot]:
    """Partner snapshots in the platform currency, of the formulas in force (older versions are history)."""
    return PortfolioSnapshot.objects.filter(
        dimension=PortfolioSnapshot.Dimension.PARTNER,
        currency=settings.PLATFORM_CURRENCY,
        formula_version=FORMULA_VERSION,
    )


def partners_with_totals(partners: QuerySet[FieldPartner]) -> QuerySet[FieldPartner]:
    """Annotate `loans_posted`, `amount_raised_cents` (platform currency) and `latest_snapshot_id`."""
    latest = partner_snapshots().filter(key=Cast(OuterRef("pk"), output_field=CharField())).order_by("-as_of")
    return partners.annotate(
        loans_posted=Count("loans", filter=Q(loans__status__in=POSTED)),
        amount_raised_cents=Coalesce(
            Sum("loans__raised_cents", filter=Q(loans__status__in=RAISED, loans__currency=settings.PLATFORM_CURRENCY)),
            Value(0),
        ),
        latest_snapshot_id=Subquery(latest.values("pk")[:1]),
    )


def _figures(partner: FieldPartner, snapshot: PortfolioSnapshot | None) -> dict[str, Any]:
    report = group_report(snapshot) if snapshot is not None else dict.fromkeys(RATES)
    as_of: date | None = snapshot.as_of if snapshot is not None else None
    return {
        "loans_posted": partner.loans_posted,  # type: ignore[attr-defined]
        "amount_raised_cents": partner.amount_raised_cents,  # type: ignore[attr-defined]
        "currency": settings.PLATFORM_CURRENCY,
        "as_of": as_of,
        "formula_version": FORMULA_VERSION,
        **{name: report[name] for name in RATES},
    }


def partner_figures(partners: Iterable[FieldPartner]) -> dict[int, dict[str, Any]]:
    """Each partner's figures by id; `partners` come from `partners_with_totals`. One query for all snapshots."""
    partners = list(partners)
    ids = [p.latest_snapshot_id for p in partners if p.latest_snapshot_id is not None]  # type: ignore[attr-defined]
    snapshots = PortfolioSnapshot.objects.in_bulk(ids) if ids else {}
    return {p.pk: _figures(p, snapshots.get(p.latest_snapshot_id)) for p in partners}  # type: ignore[attr-defined]


def partner_figures_of(partner_id: int) -> dict[str, Any] | None:
    """One partner's figures (two queries), or None if there is no such partner."""
    partner = partners_with_totals(FieldPartner.objects.filter(pk=partner_id)).first()
    return None if partner is None else partner_figures([partner])[partner.pk]


def partner_series(*, partner_id: int, start: date, end: date) -> QuerySet[PortfolioSnapshot]:
    """The partner's snapshots from `start` to `end`, oldest first."""
    return partner_snapshots().filter(key=str(partner_id), as_of__range=(start, end)).order_by("as_of")
