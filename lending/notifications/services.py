"""Build and send each lender's digest for a business date: what came back, what got funded, what is late.

Selections are set-based (three grouped queries for the whole date); a digest row is written
before the email is sent and marked after, so re-running a date never sends a digest twice and
an email that failed is retried by the next run. Lenders who turned a kind off do not hear of it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Sum
from django.utils import timezone

from lending.loans.models import LenderPosition, Loan, RepaymentSplit
from lending.money import format_money
from lending.notifications.models import Digest, NotificationPreference

LATE_MILESTONES = (1, 30, 90)  # days past due on which lenders hear of a late loan


def _lines_for(on: date) -> dict[int, list[tuple[str, str]]]:
    """Per lender: (kind, sentence) for everything worth telling them about `on`."""
    lines: dict[int, list[tuple[str, str]]] = defaultdict(list)
    received = (
        RepaymentSplit.objects.filter(repayment__received_on=on)
        .values("lender_id", "repayment__currency")
        .annotate(total=Sum("principal_cents") + Sum("interest_cents"), loans=Count("repayment__loan", distinct=True))
    )
    for row in received:
        money = format_money(row["total"], row["repayment__currency"])
        lines[row["lender_id"]].append(("repayments", f"{money} came back to your wallet from {row['loans']} loan(s)."))
    for lender_id, loan_id in LenderPosition.objects.filter(loan__funded_on=on).values_list("lender_id", "loan_id"):
        lines[lender_id].append(("funded", f"Loan {loan_id} is fully funded. Thank you!"))
    late = LenderPosition.objects.filter(
        loan__status=Loan.Status.PAYING_BACK, loan__arrears_as_of=on, loan__days_past_due__in=LATE_MILESTONES
    ).values_list("lender_id", "loan_id", "loan__days_past_due")
    for lender_id, loan_id, days in late:
        lines[lender_id].append(("late", f"Loan {loan_id} is {days} day(s) late with a repayment."))
    return lines


def send_digests(on: date) -> int:
    """Send every lender their digest for `on` (once); returns how many were sent."""
    lines = _lines_for(on)
    prefs = {p.lender_id: p for p in NotificationPreference.objects.filter(lender_id__in=lines)}
    sent = 0
    for lender_id, items in sorted(lines.items()):
        pref = prefs.get(lender_id)
        wanted = [text for kind, text in items if pref is None or getattr(pref, kind)]
        if not wanted:
            continue
        digest, _ = Digest.objects.get_or_create(
            lender_id=lender_id,
            business_date=on,
            defaults={"subject": f"Your loans on {on:%d %B %Y}", "body": "\n".join(wanted)},
        )
        if digest.sent_at is not None:
            continue
        email = digest.lender.email
        send_mail(digest.subject, digest.body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
        Digest.objects.filter(pk=digest.pk).update(sent_at=timezone.now())
        sent += 1
    return sent
