"""The outbox area's page (``settings/outbox/``): every e-mail the panel queued, sent or
failed to send, newest first, with its attempts and last error; and "Send again" for one
that failed. Read needs read on ``outbox``, sending again update; the rows are the ones
the row-scope selector gives (a reseller's user sees only their reseller's mail)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import InvalidPage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from controlpanel.audit.refusals import call_service
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import requires
from controlpanel.kit.paging import UncountedPage
from controlpanel.outbox.models import OutboxState

from .outbox import messages_visible_to, outbox_message_resend
from .resolver import access_of

PAGE_SIZE = 50


class OutboxFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "Any"), *OutboxState.choices]
    )


@requires("outbox", "read")
@require_safe
def outbox_list(request: HttpRequest) -> HttpResponse:
    form = OutboxFilterForm(request.GET or None)
    state = form.cleaned_data["state"] if form.is_bound and form.is_valid() else ""
    rows = messages_visible_to(request.user, state=state).only(
        "kind",
        "to",
        "subject",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "reseller_id",
    )
    try:
        page = UncountedPage(rows, request.GET.get("page"), PAGE_SIZE)
    except InvalidPage:  # past the last page (mail sent meanwhile): the first
        page = UncountedPage(rows, 1, PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "settings/outbox.html",
        {
            "form": form,
            "page": page,
            "page_query": query.urlencode(),
            "may_retry": access_of(request).can("outbox", "update"),
        },
    )


@requires("outbox", "update", methods=["POST"])
@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(messages_visible_to(request.user), pk=pk)
    outcome = call_service(
        request,
        lambda: outbox_message_resend(
            message=message, actor=request.user, address=client_ip(request)
        ),
    )
    if outcome.ok:
        messages.success(request, f"The mail to {message.to} will be sent again.")
    else:
        messages.error(request, outcome.message)
    return redirect("outbox-list")
