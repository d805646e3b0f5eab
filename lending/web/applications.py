"""A borrower's pages: the four-step loan application (with sign-up for a new visitor) and the page that
follows a loan from review to its last repayment.

Where the application lives between steps. Step 1 writes the borrower's profile (or creates the
borrower). Step 2's sector and purpose wait in the session, because `loan_apply` needs the amount and
the number of repayments and a draft with invented terms would show in the API's /me/loans and to
reviewers. Step 3 creates the draft through `loan_apply` (or changes it through `loan_draft_update`);
from then on every step edits the draft, so leaving and coming back (even from another device) resumes
it at the review. The session also remembers the next step, so /apply/ reopens where the borrower left.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.borrower_profiles import borrower_profile_update
from accounts.models import BorrowerProfile, User
from accounts.services import borrower_create
from lending.loans.applications import loan_apply, loan_draft_update, loan_submit
from lending.loans.borrowers import (
    ACTIVE,
    STAGES,
    borrower_loan_progress,
    borrower_loans,
    borrower_profile_of,
    loan_schedule_preview,
    loan_to_show,
    own_draft,
    terms_preview,
)
from lending.loans.errors import LoanError
from lending.loans.models import Loan
from lending.schedules import Installment as ScheduleRow
from lending.schedules import ScheduleError
from lending.web.application_forms import (
    AboutForm,
    BorrowerSignupForm,
    BusinessForm,
    LoanTermsForm,
    SubmitForm,
    refusal_field,
    refusal_text,
)

SESSION_KEY = "apply"  # {"step": the step to resume at, "sector"/"purpose": step 2 until the draft exists}
STEPS = ("about", "business", "loan", "review")
STEP_TITLES = {"about": "About you", "business": "Your business", "loan": "The loan", "review": "Review and submit"}
STAGE_TITLES = dict(zip(STAGES, ("Application", "Review", "Fundraising", "Paid out", "Repayment"), strict=True))
S = Loan.Status
# What the borrower reads under the progress steps, by status.
STATUS_NOTES: dict[str, str] = {
    S.DRAFT: "Your application is not submitted yet.",
    S.SUBMITTED: "Submitted: your application is waiting for review.",
    S.APPROVED: "Approved: your loan will soon be listed for lenders.",
    S.FUNDRAISING: "Listed: lenders are funding your loan.",
    S.FUNDED: "Fully funded: the money will be paid out to you soon.",
    S.PAYING_BACK: "Paid out: repay each installment by its due date.",
    S.REPAID: "Repaid in full. Thank you!",
    S.DEFAULTED: "Defaulted: the loan was not repaid in time. You can still pay what you owe.",
    S.REFUNDED: "Refunded: the lenders got their money back.",
    S.EXPIRED: "Fundraising ended before the loan was fully funded; the lenders got their money back.",
    S.REJECTED: "Not approved. The reason is below.",
    S.CANCELLED: "Withdrawn. The reason is below.",
}
BorrowerView = Callable[..., HttpResponse]


# --- who may apply --------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _borrower(request: HttpRequest) -> BorrowerProfile | None:
    user = request.user
    if not isinstance(user, User) or not user.is_borrower:
        return None
    return borrower_profile_of(user)


def _refuse(request: HttpRequest) -> HttpResponse:
    """Lenders, partner staff and platform staff do not apply here (staff apply for borrowers through the API)."""
    return render(request, "lending/apply/not_a_borrower.html", {}, status=403)


def borrower_page(view: BorrowerView) -> BorrowerView:
    """Log in first; then only a borrower with a profile gets the page, called with that profile."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        profile = _borrower(request)
        if profile is None:
            return _refuse(request)
        return view(request, profile, *args, **kwargs)

    return wrapped


# --- the steps ------------------------------------------------------------------------------------


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, which must fail validation), else None for an unbound form."""
    return request.POST if request.method == "POST" else None


def _saved(request: HttpRequest) -> dict[str, Any]:
    return dict(request.session.get(SESSION_KEY) or {})


def _remember(request: HttpRequest, **values: Any) -> None:
    request.session[SESSION_KEY] = {**_saved(request), **values}


def _furthest(request: HttpRequest, draft: Loan | None) -> str:
    """The last step the borrower may open: each needs what the steps before it saved."""
    if draft is not None:
        return "review"
    return "loan" if _saved(request).get("purpose") else "business"


def _resume_step(request: HttpRequest, draft: Loan | None) -> str:
    furthest, step = _furthest(request, draft), _saved(request).get("step")
    if step in STEPS and STEPS.index(step) <= STEPS.index(furthest):
        return str(step)
    return furthest


def _steps(current: str, furthest: str) -> list[dict[str, Any]]:
    """The step list at the top of every step: done, current, or still to come; open ones are links."""
    here, last = STEPS.index(current), STEPS.index(furthest)
    return [
        {
            "key": key,
            "title": STEP_TITLES[key],
            "number": i + 1,
            "state": "done" if i < here else "current" if i == here else "todo",
            "url_name": f"apply-{key}" if i <= last else "",
        }
        for i, key in enumerate(STEPS)
    ]


def _step_ctx(request: HttpRequest, step: str, draft: Loan | None, form: forms.Form) -> dict[str, Any]:
    return {
        "form": form,
        "step": step,
        "step_number": STEPS.index(step) + 1,
        "step_count": len(STEPS),
        "title": STEP_TITLES[step],
        "steps": _steps(step, _furthest(request, draft)),
        "draft": draft,
    }


def _show_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError next to the fields it names (or at the top of the form)."""
    for field, messages_ in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def _show_refusal(form: forms.Form, exc: LoanError) -> None:
    """A loan service's refusal next to the field it names (or at the top of the form)."""
    form.add_error(refusal_field(form, exc.field), refusal_text(str(exc), exc.field))


def _render(request: HttpRequest, template: str, ctx: dict[str, Any]) -> HttpResponse:
    """A form page: 400 when the form came back with errors, so that a script or a test sees the refusal."""
    form = ctx.get("form")
    return render(request, template, ctx, status=400 if form is not None and form.errors else 200)


def apply_start(request: HttpRequest) -> HttpResponse:
    """/apply/: a new visitor signs up first; a borrower goes back to the step they left."""
    if not request.user.is_authenticated:
        return redirect("apply-signup")
    if _borrower(request) is None:
        return _refuse(request)
    return redirect(f"apply-{_resume_step(request, own_draft(_user(request)))}")


def apply_signup(request: HttpRequest) -> HttpResponse:
    """Step 1 for a new visitor: create a borrower with a login, log them in, go on to their business."""
    if request.user.is_authenticated:
        return redirect("apply") if _borrower(request) else _refuse(request)
    form = BorrowerSignupForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            borrower_create(
                display_name=data["display_name"], country=data["country"], town=data["town"],
                email=data["email"], password=data["password"],
            )  # fmt: skip
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            user = authenticate(request, username=data["email"], password=data["password"])
            if user is None:  # a login guard refused: the account exists, the visitor logs in by hand
                messages.success(request, "Your account is ready: log in to continue your application.")
                return redirect("login")
            login(request, user)
            _remember(request, step="business")
            messages.success(request, "Your borrower account is ready. Next: tell lenders about your business.")
            return redirect("apply-business")
    ctx = {**_step_ctx(request, "about", None, form), "title": "Apply for a loan"}
    ctx["steps"] = _steps("about", "about")
    return _render(request, "lending/apply/signup.html", ctx)


@borrower_page
def apply_about(request: HttpRequest, profile: BorrowerProfile) -> HttpResponse:
    """Step 1: the borrower's name, country and town, as lenders will read them."""
    user, draft = _user(request), own_draft(_user(request))
    initial = {"display_name": profile.display_name, "country": profile.country, "town": profile.town}
    form = AboutForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            # One transaction: a draft's country follows the borrower's, or neither changes.
            with transaction.atomic():
                profile = borrower_profile_update(profile=profile, actor=user, **form.cleaned_data)
                if draft is not None and draft.country != profile.country:
                    loan_draft_update(loan=draft, actor=user, country=profile.country)
        except ValidationError as exc:
            _show_errors(form, exc)
        except LoanError as exc:
            _show_refusal(form, exc)
        else:
            _remember(request, step="business")
            return redirect("apply-business")
    return _render(request, "lending/apply/about.html", _step_ctx(request, "about", draft, form))


@borrower_page
def apply_business(request: HttpRequest, profile: BorrowerProfile) -> HttpResponse:
    """Step 2: sector and purpose; kept in the session until the loan step creates the draft."""
    user, draft, saved = _user(request), own_draft(_user(request)), _saved(request)
    source: Any = {"sector": draft.sector, "purpose": draft.purpose} if draft else saved
    form = BusinessForm(_posted(request), initial={k: source.get(k, "") for k in ("sector", "purpose")})
    if request.method == "POST" and form.is_valid():
        try:
            if draft is not None:
                loan_draft_update(loan=draft, actor=user, **form.cleaned_data)
        except LoanError as exc:
            _show_refusal(form, exc)
        else:
            _remember(request, step="loan", **({} if draft else form.cleaned_data))
            return redirect("apply-loan")
    ctx = _step_ctx(request, "business", draft, form)
    ctx["under_way"] = [loan for loan in borrower_loans(user) if loan.status in ACTIVE]
    return _render(request, "lending/apply/business.html", ctx)


def _business(request: HttpRequest, draft: Loan | None) -> dict[str, str] | None:
    if draft is not None:
        return {"sector": draft.sector, "purpose": draft.purpose}
    saved = _saved(request)
    return {"sector": saved["sector"], "purpose": saved["purpose"]} if saved.get("purpose") else None


def _preview(form: LoanTermsForm) -> list[ScheduleRow] | None:
    """The schedule of the form's terms, or None with the engine's objection next to its field."""
    try:
        return terms_preview(**form.terms(), on=timezone.localdate())
    except ScheduleError as exc:
        name = {"principal": "amount", "repayment_every": "every_weeks"}.get(exc.field, exc.field)
        form.add_error(name if name in form.fields else None, refusal_text(str(exc), exc.field))
        return None


def _save_terms(
    request: HttpRequest, profile: BorrowerProfile, draft: Loan | None, business: dict[str, str], form: LoanTermsForm
) -> Loan | None:
    """Create the draft (first time) or change its terms; None with the refusal shown on the form."""
    user = _user(request)
    try:
        if draft is not None:
            return loan_draft_update(loan=draft, actor=user, **form.terms())
        return loan_apply(
            actor=user, borrower=profile, sector=business["sector"], purpose=business["purpose"], **form.terms()
        )
    except LoanError as exc:
        if exc.field in ("sector", "purpose"):
            form.add_error(None, f"Your business: {refusal_text(str(exc), exc.field)} Go back to fix it.")
        else:
            _show_refusal(form, exc)
        return None


@borrower_page
def apply_loan(request: HttpRequest, profile: BorrowerProfile) -> HttpResponse:
    """Step 3: amount, number of repayments and how often, with the schedule they make.

    "Preview schedule" (the page without JavaScript) validates and shows the schedule, writing nothing;
    "Save and continue" saves the draft. With JavaScript the schedule follows every change, from the
    public POST /api/v1/schedule-preview/, which runs the same engine.
    """
    draft = own_draft(_user(request))
    business = _business(request, draft)
    if business is None:
        messages.info(request, "First tell lenders about your business.")
        return redirect("apply-business")
    form = LoanTermsForm(_posted(request), initial=LoanTermsForm.initial_from(draft) if draft else None)
    schedule = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "preview":
            schedule = _preview(form)
        else:
            loan = _save_terms(request, profile, draft, business, form)
            if loan is not None:
                _remember(request, step="review", sector=None, purpose=None)
                return redirect("apply-review")
    elif request.method != "POST" and draft is not None:
        schedule = loan_schedule_preview(draft, on=timezone.localdate())
    ctx = _step_ctx(request, "loan", draft, form)
    ctx.update(_schedule_ctx(schedule, form.data.get("currency") or (draft.currency if draft else None)))
    ctx["today"] = timezone.localdate()
    return _render(request, "lending/apply/loan.html", ctx)


def _schedule_ctx(schedule: list[ScheduleRow] | None, currency: str | None) -> dict[str, Any]:
    return {
        "schedule": schedule,
        "schedule_total": sum(row.total for row in schedule) if schedule else 0,
        "currency": currency or settings.PLATFORM_CURRENCY,
    }


@borrower_page
def apply_review(request: HttpRequest, profile: BorrowerProfile) -> HttpResponse:
    """Step 4: everything on one page, each part with a link to change it; submitting sends it to review."""
    user, draft = _user(request), own_draft(_user(request))
    if draft is None:
        return redirect("apply")
    form = SubmitForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            loan = loan_submit(loan=draft, actor=user)
        except LoanError as exc:
            _show_refusal(form, exc)
        else:
            request.session.pop(SESSION_KEY, None)
            messages.success(request, "Your application is submitted. We will tell you here when it is reviewed.")
            return redirect("my-loan-detail", pk=loan.pk)
    ctx = _step_ctx(request, "review", draft, form)
    ctx.update(_schedule_ctx(loan_schedule_preview(draft, on=timezone.localdate()), draft.currency))
    ctx.update(profile=profile, loan=draft)
    return _render(request, "lending/apply/review.html", ctx)


# --- my loan --------------------------------------------------------------------------------------


@borrower_page
def my_loan(request: HttpRequest, profile: BorrowerProfile, pk: int | None = None) -> HttpResponse:
    """/my-loan/ shows the loan the borrower most likely wants (the newest under way); /my-loan/<id>/ any of theirs."""
    user = _user(request)
    loans = borrower_loans(user)
    shown = loan_to_show(loans) if pk is None else next((loan for loan in loans if loan.pk == pk), None)
    if shown is None:
        if pk is not None:
            raise Http404("No such loan")  # someone else's loan does not exist, as far as you know
        return render(request, "lending/my_loan/none.html", {"draft": own_draft(user)})
    progress = borrower_loan_progress(user=user, loan_id=shown.pk, today=timezone.localdate())
    if progress is None:  # gone between the two reads
        raise Http404("No such loan")
    ctx = {
        "progress": progress,
        "loan": progress.loan,
        "stages": [
            {"title": STAGE_TITLES[stage.name], "name": stage.name, "state": stage.state} for stage in progress.stages
        ],
        "note": STATUS_NOTES[progress.loan.status],
        "others": [loan for loan in loans if loan.pk != shown.pk],
    }
    return render(request, "lending/my_loan/loan.html", ctx)
