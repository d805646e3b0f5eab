"""A lender's notification settings: read with the defaults filled in, and saved."""

from __future__ import annotations

from accounts.models import User
from lending.notifications.models import NotificationPreference

KINDS = ("repayments", "funded", "late")  # the boolean fields of NotificationPreference, in display order


def notification_preferences_of(lender: User) -> NotificationPreference:
    """The saved preferences, or unsaved defaults (every kind on) when the lender never chose."""
    return NotificationPreference.objects.filter(lender=lender).first() or NotificationPreference(lender=lender)


def notification_preferences_set(*, lender: User, repayments: bool, funded: bool, late: bool) -> NotificationPreference:
    """Save what the lender wants to hear about in their daily digest."""
    prefs, _ = NotificationPreference.objects.update_or_create(
        lender=lender, defaults={"repayments": repayments, "funded": funded, "late": late}
    )
    return prefs
