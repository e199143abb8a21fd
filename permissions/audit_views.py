"""The audit trail (read-only pages) and the recurring access review.

The audit pages answer only GET and HEAD: there is no way to change or delete an entry
through the panel. The access review reads with ``user`` read; deactivating stale users
needs ``user`` update.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry
from controlpanel.audit.refusals import call_service, refuse
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import requires
from controlpanel.kit.keyset import KeysetPage, Seek
from resellers.selectors import scoped

from . import review, review_schedule
from .models import AccessReview

PAGE_SIZE = 50
REVIEW_PAGE_SIZE = 50
# The review lists users by e-mail, a page at a time by keyset (a seek on the unique e-mail
# index): a deep page costs what the first does, where OFFSET read every row before it.
REVIEW_ORDER = Seek("email", unique=True)
# How long a deactivation confirmation page stays valid.
CONFIRMATION_LIFETIME = datetime.timedelta(hours=1)
SHOWN_ON_CONFIRMATION = 500
SHOWN_IN_MESSAGES = 20

BAD_CURSOR = "This page link is not valid; start again from the newest entries."
DATES_REVERSED = "The end date must be on or after the start date."
OBJECT_ID_NEEDS_TYPE = "Give the object type too (e.g. user, group, customer)."
CONFIRMATION_EXPIRED = (
    "This confirmation is out of date (it is valid for an hour); open the deactivation page "
    "again to see who is stale now."
)


# --- Forms ------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        label="Actor e-mail contains", required=False, max_length=254, strip=True
    )
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *[(a, a) for a in audit.ACTIONS]]
    )
    object_type = forms.CharField(label="Object type", required=False, max_length=64)
    object_id = forms.CharField(label="Object id", required=False, max_length=64)
    date_from = forms.DateField(
        label="From", required=False, widget=DateInput, help_text="In your time zone."
    )
    date_to = forms.DateField(
        label="To", required=False, widget=DateInput, help_text="Included, in your time zone."
    )
    older = forms.CharField(required=False, widget=forms.HiddenInput)
    newer = forms.CharField(required=False, widget=forms.HiddenInput)
    oldest = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def _clean_cursor(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        if value:
            try:
                audit.decode_cursor(value)
            except ValueError:
                raise forms.ValidationError(BAD_CURSOR) from None
        return value

    def clean_older(self) -> str:
        return self._clean_cursor("older")

    def clean_newer(self) -> str:
        return self._clean_cursor("newer")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", DATES_REVERSED)
        if data.get("object_id") and not data.get("object_type"):
            self.add_error("object_type", OBJECT_ID_NEEDS_TYPE)
        return data

    def filters(self) -> dict:
        return {
            key: self.cleaned_data[key]
            for key in ("actor", "action", "object_type", "object_id", "date_from", "date_to")
        }


class StaleDaysForm(forms.Form):
    stale_days = forms.IntegerField(
        label="Stale after (days without a sign-in)",
        min_value=1,
        max_value=review.MAX_STALE_DAYS,
        initial=review.DEFAULT_STALE_DAYS,
    )

    def __init__(self, data=None, **kwargs):
        if data is not None and not data.get("stale_days"):
            data = data.copy()
            data["stale_days"] = review.DEFAULT_STALE_DAYS
        super().__init__(data, **kwargs)


class ReviewFilterForm(StaleDaysForm):
    flag = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "Every user"), *[(flag, f"Only: {flag}") for flag in review.FLAG_FILTERS]],
    )


class DeactivateForm(StaleDaysForm):
    as_of = forms.DateTimeField(widget=forms.HiddenInput)

    def clean_as_of(self) -> datetime.datetime:
        as_of = self.cleaned_data["as_of"]
        now = timezone.now()
        if as_of > now or now - as_of > CONFIRMATION_LIFETIME:
            raise forms.ValidationError(CONFIRMATION_EXPIRED)
        return as_of


# --- The audit trail ----------------------------------------------------------------------


def entries_visible_to(user):
    """The audit entries ``user`` may read: all of them, or, for a user linked to a
    reseller, only that reseller's; none for an inactive or anonymous user (the caller
    has checked read on ``audit-log``). The one row-scope selector decides."""
    return scoped(AuditEntry.objects.all(), user)


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@requires("audit-log", "read")
@require_safe
def audit_log_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    page = None
    if not request.GET or form.is_valid():
        entries = entries_visible_to(request.user)
        filters = form.filters() if form.is_bound else {}
        entries = audit.filter_entries(entries, **filters)
        page = audit.entries_page(
            entries,
            older_than=form.cleaned_data.get("older", "") if form.is_bound else "",
            newer_than=form.cleaned_data.get("newer", "") if form.is_bound else "",
            oldest=bool(form.cleaned_data.get("oldest")) if form.is_bound else False,
            size=PAGE_SIZE,
        )
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "page": page,
            "base_query": _query_without(request, "older", "newer", "oldest"),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@requires("audit-log", "read")
@require_safe
def audit_log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(entries_visible_to(request.user), pk=pk)
    return render(
        request,
        "audit/detail.html",
        {
            "entry": entry,
            "rows": audit.change_rows(entry.changes),
            "history_url": (
                audit.history_url(object_type=entry.object_type, object_id=entry.object_id)
                if entry.object_type and entry.object_id
                else ""
            ),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


# --- The access review ---------------------------------------------------------------------


def _stale_days(form: forms.Form) -> int:
    form.is_valid()
    return form.cleaned_data.get("stale_days") or review.DEFAULT_STALE_DAYS


@requires("user", "read")
@require_safe
def access_review(request: HttpRequest) -> HttpResponse:
    form = ReviewFilterForm(request.GET)
    context = {"form": form, "time_zone": timezone.get_current_timezone_name()}
    if form.is_valid():
        stale_days = form.cleaned_data["stale_days"]
        cutoff = review.stale_cutoff(stale_days)
        users = review.users_to_review(request.user)
        listed = users
        if form.cleaned_data["flag"]:
            listed = review.with_flag(users, form.cleaned_data["flag"], cutoff)
        page = KeysetPage(
            review.with_review_data(listed),
            REVIEW_ORDER,
            per_page=REVIEW_PAGE_SIZE,
            **_review_page(request),
        )
        totals = review.review_totals(
            request.user, stale_days=stale_days, recount=request.GET.get("recount") == "1"
        )
        context.update(
            stale_days=stale_days,
            cutoff=cutoff,
            counts=totals.counts,
            totals=totals,
            page=page,
            rows=review.summarize_page(page.object_list, cutoff=cutoff),
            page_query=_query_without(request, "page", "after", "before", "last", "recount"),
            counts_kept_minutes=int(review.COUNTS_KEPT_FOR.total_seconds() // 60),
            reviews=scoped(AccessReview.objects.all(), request.user)[:5],
        )
    schedule = review_schedule.status()  # carries the cadence: no second query for the form
    context.update(
        schedule=schedule,
        schedule_form=ScheduleForm(initial={"cadence_days": schedule.cadence_days}),
    )
    return render(request, "audit/review.html", context)


def _review_page(request: HttpRequest) -> dict:
    """The page the link asks for; a cursor the review did not write means the first."""
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    for cursor in (after, before):
        try:
            if cursor:
                REVIEW_ORDER.read_cursor(cursor)
        except ValueError:
            return {}
    if after:
        return {"after": after}
    if before:
        return {"before": before}
    return {"last": request.GET.get("last") == "1"}


class ScheduleForm(forms.Form):
    cadence_days = forms.IntegerField(
        label="Review every (days)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Administrators and those who may read users are reminded when a review "
        "is due. Leave empty for no reminders.",
    )


@requires("user", "update", methods=["POST"])
@require_POST
def access_review_schedule(request: HttpRequest) -> HttpResponse:
    """Set how often the whole panel's access must be reviewed."""
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("access-review")
    cadence = form.cleaned_data["cadence_days"]
    outcome = call_service(
        request,
        lambda: review_schedule.review_schedule_set(
            cadence_days=cadence, actor=request.user, address=client_ip(request)
        ),
    )
    if not outcome.ok:
        return refuse(request, area="user", action="update", reason=outcome.message)
    messages.success(
        request,
        f"The access review is now due every {cadence} days."
        if cadence
        else "Access review reminders are off.",
    )
    return redirect("access-review")


@requires("user", "update", methods=["POST"])
@require_POST
def access_review_record(request: HttpRequest) -> HttpResponse:
    """Record that the signed-in user reviewed every user's access just now."""
    form = StaleDaysForm(request.POST)
    stale_days = _stale_days(form)
    users = review.users_to_review(request.user)
    record = review.access_review_record(
        stale_days=stale_days,
        counts=review.review_counts(users, cutoff=review.stale_cutoff(stale_days)),
        reviewer=request.user,
        source="panel",
        address=client_ip(request),
    )
    messages.success(
        request,
        f"Access review recorded: {record.users_count} users, {record.stale_count} stale.",
    )
    return redirect(f"{reverse('access-review')}?stale_days={stale_days}")


@requires("user", "update")
@require_http_methods(["GET", "POST"])
def access_review_deactivate(request: HttpRequest) -> HttpResponse:
    """GET: the confirmation page, listing who would be deactivated and who kept.
    POST: deactivate the users who were stale when that page was shown."""
    if request.method == "POST":
        form = DeactivateForm(request.POST)
        if form.is_valid():
            return _deactivate(request, form)
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(f"{reverse('access-review-deactivate')}?stale_days={_stale_days(form)}")
    form = StaleDaysForm(request.GET)
    stale_days = _stale_days(form)
    as_of = timezone.now()
    plan = review.plan_stale_deactivation(
        request.user, cutoff=review.stale_cutoff(stale_days, as_of)
    )
    return render(
        request,
        "audit/review_confirm.html",
        {
            "form": form,
            "stale_days": stale_days,
            "as_of": as_of.isoformat(),
            "plan": plan,
            "shown": plan.deactivate[:SHOWN_ON_CONFIRMATION],
            "more": max(0, len(plan.deactivate) - SHOWN_ON_CONFIRMATION),
        },
    )


def _deactivate(request: HttpRequest, form: DeactivateForm) -> HttpResponse:
    stale_days = form.cleaned_data["stale_days"]
    outcome = call_service(
        request,
        lambda: review.access_review_deactivate_stale(
            stale_days=stale_days,
            as_of=form.cleaned_data["as_of"],
            actor=request.user,
            address=client_ip(request),
        ),
    )
    if not outcome.ok:
        return refuse(request, area="user", action="update", reason=outcome.message)
    result = outcome.value
    users = review.users_to_review(request.user)
    review.access_review_record(
        stale_days=stale_days,
        counts=review.review_counts(users, cutoff=review.stale_cutoff(stale_days)),
        reviewer=request.user,
        source="panel",
        deactivated_count=len(result.deactivated),
        address=client_ip(request),
    )
    messages.success(
        request,
        f"Deactivated {len(result.deactivated)} stale users: {_some_emails(result.deactivated)}.",
    )
    for user, reason in result.kept[:SHOWN_IN_MESSAGES]:
        messages.warning(request, f"{user.email} {reason}.")
    if len(result.kept) > SHOWN_IN_MESSAGES:
        messages.warning(request, f"{len(result.kept) - SHOWN_IN_MESSAGES} more users were kept.")
    return redirect(f"{reverse('access-review')}?stale_days={stale_days}")


def _some_emails(users) -> str:
    emails = [user.email for user in users[:SHOWN_IN_MESSAGES]]
    if not emails:
        return "nobody"
    more = len(users) - len(emails)
    return ", ".join(emails) + (f" and {more} more" if more else "")
