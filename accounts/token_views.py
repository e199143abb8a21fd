"""Your profile > API tokens: make, name and revoke your own API tokens (self-service).

A new token is shown once, on the page that answers the form, and never again: only its
hash is stored. Tokens are made and revoked only here, in a signed-in session; a token
cannot make tokens (token authentication applies to ``/api/`` only).
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import self_service
from controlpanel.kit.forms import DateInput, add_errors

from . import reauth
from .api_tokens import MAX_ACTIVE_TOKENS, api_token_create, api_token_revoke, tokens_of
from .models import ApiToken

EXPIRY_IN_PAST = "Choose today or a later day."


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. “nightly billing export”."
    )
    read_only = forms.BooleanField(
        label="Read-only",
        required=False,
        help_text="It can read (GET) whatever you can read, and change nothing.",
    )
    expires_on = forms.DateField(
        label="Expires after",
        required=False,
        widget=DateInput(),
        help_text="Optional. The token stops working at the end of this day (your time zone).",
    )

    def clean_expires_on(self) -> datetime.date | None:
        day = self.cleaned_data["expires_on"]
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError(EXPIRY_IN_PAST)
        return day

    def expires_at(self) -> datetime.datetime | None:
        """The end of the chosen day in the user's time zone (the next midnight)."""
        day = self.cleaned_data["expires_on"]
        if day is None:
            return None
        midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
        return timezone.make_aware(midnight)


def _list_page(request: HttpRequest, form: TokenForm) -> HttpResponse:
    now = timezone.now()
    tokens = [(token, token.status_at(now)) for token in tokens_of(request.user)]
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "max_active": MAX_ACTIVE_TOKENS,
            "proof_fresh": reauth.proof_is_fresh(request),
        },
    )


@self_service
@require_safe
def token_list_view(request: HttpRequest) -> HttpResponse:
    return _list_page(request, TokenForm())


@self_service
@never_cache
@require_POST
@reauth.requires_fresh_proof(back="tokens:list")
def token_create_view(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                read_only=form.cleaned_data["read_only"],
                expires_at=form.expires_at(),
                address=client_ip(request),
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            return render(request, "accounts/tokens_created.html", {"token": token, "raw": raw})
    return _list_page(request, form)


@self_service
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(user=request.user, token=token, address=client_ip(request))
    messages.success(request, f"The token “{token.name}” was revoked; it no longer works.")
    return redirect("tokens:list")
