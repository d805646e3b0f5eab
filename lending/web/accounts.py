"""Account pages: sign up as a lender, log in (behind the lockout), log out, reset or change a password,
and one's own profile and notification settings.

Thin function views over accounts.forms (which call accounts services); Django's own views serve the
password reset and change, with this site's templates and emails.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.forms import (
    EmailResetForm,
    LenderProfileForm,
    LockClearingSetPasswordForm,
    LoginForm,
    NameForm,
    NotificationsForm,
    SignupForm,
)
from accounts.models import User
from accounts.profiles import lender_profile_of
from lending.notifications.preferences import notification_preferences_of, notification_preferences_set


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def lender_landing() -> str:
    """Where a new lender starts: the dashboard once the site has one, else the wallet."""
    try:
        return reverse("dashboard")
    except NoReverseMatch:
        return reverse("wallet")


def _next(request: HttpRequest) -> str:
    """The ?next= page if it is on this site, else the default after log-in."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    """A new lender: account and public profile at once, then logged in and sent to their money."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and (user := form.register()) is not None:
        auth_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        messages.success(
            request, f"Welcome, {user.get_short_name()}! Add money to your wallet to make your first loan."
        )
        return redirect(lender_landing())
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    """Email and password; a locked login answers 429 with the time it opens again."""
    destination = _next(request)
    if request.user.is_authenticated and request.method != "POST":
        return redirect(destination)
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        auth_login(request, form.get_user())
        return redirect(destination)
    ctx = {"form": form, "next": request.POST.get("next") or request.GET.get("next") or ""}
    response = render(request, "registration/login.html", ctx, status=429 if form.locked_until else 200)
    if form.locked_until:
        response["Retry-After"] = str(max(1, int((form.locked_until - timezone.now()).total_seconds())))
    return response


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.info(request, "You have logged out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Your own details: a lender's public profile and notifications; anyone else's name."""
    user = _user(request)
    data = request.POST if request.method == "POST" else None
    form = _profile_form(user, data)
    if form.is_valid() and form.save(user):
        messages.success(request, "Your profile is saved.")
        return redirect("profile")
    ctx = {"form": form, "notifications": _notifications_form(user) if user.is_lender else None}
    return render(request, "accounts/profile.html", ctx, status=400 if form.errors else 200)


def _profile_form(user: User, data: QueryDict | None) -> NameForm:
    if not user.is_lender:
        return NameForm(data, initial={"full_name": user.full_name})
    saved = lender_profile_of(user)
    initial = {"full_name": user.full_name, "display_name": saved.display_name, "is_public": saved.is_public,
               "country": saved.country, "town": saved.town}  # fmt: skip
    return LenderProfileForm(data, initial=initial)


def _notifications_form(user: User) -> NotificationsForm:
    prefs = notification_preferences_of(user)
    return NotificationsForm(initial={"repayments": prefs.repayments, "funded": prefs.funded, "late": prefs.late})


@login_required
@require_POST
def notification_settings(request: HttpRequest) -> HttpResponse:
    """A lender's choice of what their daily email tells them (ticked boxes are on)."""
    user = _user(request)
    if not user.is_lender:
        return render(request, "lending/not_a_lender.html", {}, status=403)
    form = NotificationsForm(request.POST)
    form.is_valid()  # three tick boxes: an unticked (absent) box is simply off
    notification_preferences_set(
        lender=user,
        repayments=form.cleaned_data.get("repayments", False),
        funded=form.cleaned_data.get("funded", False),
        late=form.cleaned_data.get("late", False),
    )
    messages.success(request, "Your notification settings are saved.")
    return redirect("profile")


# Django's own views for passwords, with this site's templates, emails and the lock-clearing form.
password_reset = auth_views.PasswordResetView.as_view(
    form_class=EmailResetForm,
    template_name="registration/password_reset_form.html",
    email_template_name="accounts/emails/password_reset.txt",
    html_email_template_name="accounts/emails/password_reset.html",
    subject_template_name="accounts/emails/password_reset_subject.txt",
    success_url=reverse_lazy("password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    form_class=LockClearingSetPasswordForm,
    template_name="registration/password_reset_confirm.html",
    success_url=reverse_lazy("password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html"
)
password_change = auth_views.PasswordChangeView.as_view(
    template_name="registration/password_change_form.html", success_url=reverse_lazy("password_change_done")
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_change_done.html")
