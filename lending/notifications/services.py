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
    """Send every lender their digest for `on` (once); returns how many were sent.

    Set-based: the day's digests are inserted in one statement (a lender's existing digest for the
    date is kept, so a re-run changes nothing), the unsent ones are read back with their lender's
    address in one query, and the sent ones are marked in batches. The cost per lender is the email.
    """
    lines = _lines_for(on)
    prefs = {p.lender_id: p for p in NotificationPreference.objects.filter(lender_id__in=lines)}
    digests = []
    for lender_id, items in sorted(lines.items()):
        pref = prefs.get(lender_id)
        wanted = [text for kind, text in items if pref is None or getattr(pref, kind)]
        if wanted:
            digests.append(
                Digest(
                    lender_id=lender_id,
                    business_date=on,
                    subject=f"Your loans on {on:%d %B %Y}",
                    body="\n".join(wanted),
                )
            )
    Digest.objects.bulk_create(digests, batch_size=1_000, ignore_conflicts=True)
    unsent = (
        Digest.objects.filter(business_date=on, sent_at__isnull=True)
        .order_by("lender_id")
        .values_list("pk", "subject", "body", "lender__email")
    )
    sent: list[int] = []
    try:
        for pk, subject, body, email in unsent.iterator(chunk_size=1_000):
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
            sent.append(pk)
            if len(sent) % 500 == 0:
                _mark_sent(sent[-500:])
    finally:  # a failed send still marks the ones before it, so a re-run does not send them twice
        _mark_sent(sent[len(sent) - len(sent) % 500 :])
    return len(sent)


def _mark_sent(pks: list[int]) -> None:
    if pks:
        Digest.objects.filter(pk__in=pks).update(sent_at=timezone.now())
