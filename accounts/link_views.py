"""The pages behind e-mailed links and the "forgot password" page, all public.

Tokens never stay in the address bar: like Django's reset view, a valid link is moved
into the session and the browser redirected to a URL without it, and every page here
sends ``Referrer-Policy: same-origin``: no other site ever sees a Referer from these
pages. Not ``no-referrer``: with it a browser posts the page's forms with ``Origin:
null``, which Django's CSRF check rightly refuses. Unknown users and wrong tokens get the same
page; an authentic but expired link says it has expired and offers a new one.
"""

import contextlib
import functools

from django.contrib import messages
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import (
    INTERNAL_RESET_SESSION_TOKEN,
    PasswordResetConfirmView,
    PasswordResetView,
)
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView

from controlpanel.kit.declarations import public

from . import lifecycle
from .models import User, UserStatus
from .security_forms import NewPasswordForm
from .tokens import LinkState, invite_tokens, password_reset_tokens

RESET_DONE = (
    "Your password was changed and every session of your account was ended. "
    "Sign in with the new password."
)
INVITE_DONE = "Your password is set. Sign in to start using the panel."
EMAIL_VERIFIED = "Thank you: your e-mail address is verified."


LINK_REFERRER_POLICY = "same-origin"


def same_origin_referrer(view):
    """The page's URL may carry a token: never send it to another site as a Referer,
    while the page's own forms still post with a real Origin."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = LINK_REFERRER_POLICY
        return response

    return wrapped


def user_from_uid(uidb64: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return User.objects.filter(pk=pk).first()


# --- Forgot password -------------------------------------------------------------------


class PasswordResetRequestView(PasswordResetView):
    """Always the same answer: a redirect to "if the address exists, a link was sent"."""

    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")
    title = "Reset your password"

    def form_valid(self, form):
        lifecycle.user_send_password_reset(email=form.cleaned_data["email"], request=self.request)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetSentView(TemplateView):
    template_name = "accounts/password_reset_sent.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["valid_for"] = lifecycle.duration_text(password_reset_tokens.timeout)
        return context


class LinkConfirmView(PasswordResetConfirmView):
    """Django's confirm view (token moved to the session, then a token-free URL), with
    expired links told apart and the password set through a service."""

    form_class = NewPasswordForm
    success_message = ""

    def dispatch(self, *args, **kwargs):
        self.token = kwargs.get("token")
        response = super().dispatch(*args, **kwargs)
        response["Referrer-Policy"] = LINK_REFERRER_POLICY
        return response

    def get_user(self, uidb64):
        user = user_from_uid(uidb64)
        return user if user is not None and user.is_active else None

    def _token_in_use(self) -> str | None:
        if self.token == self.reset_url_token:
            return self.request.session.get(INTERNAL_RESET_SESSION_TOKEN)
        return self.token

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        token = self._token_in_use()
        state = LinkState.VALID if self.validlink else self.token_generator.state(self.user, token)
        context.update(
            {"link_state": state.value, "link_token": token, "uidb64": self.kwargs["uidb64"]}
        )
        return context

    def form_valid(self, form):
        self.complete(form.cleaned_data["new_password1"])
        self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        messages.success(self.request, self.success_message)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetLinkView(LinkConfirmView):
    token_generator = password_reset_tokens
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")
    success_message = RESET_DONE
    title = "Choose a new password"

    def complete(self, password: str):
        lifecycle.user_complete_password_reset(
            user=self.user, password=password, request=self.request
        )


class InviteAcceptView(LinkConfirmView):
    token_generator = invite_tokens
    template_name = "accounts/invite_accept.html"
    success_url = reverse_lazy("accounts:login")
    success_message = INVITE_DONE
    title = "Accept your invitation"

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.status == UserStatus.INVITED else None

    def complete(self, password: str):
        lifecycle.user_accept_invite(user=self.user, password=password, request=self.request)


password_reset_view = public(PasswordResetRequestView.as_view())
password_reset_done_view = public(PasswordResetSentView.as_view())
password_reset_confirm_view = public(PasswordResetLinkView.as_view())
invite_accept_view = public(InviteAcceptView.as_view())


@public
@require_POST
@same_origin_referrer
def invite_resend_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """From an expired invitation: send a fresh one to the invited address. The answer
    is the same whatever the link was, so it tells nothing about accounts."""
    user = user_from_uid(uidb64)
    if (
        user is not None
        and user.status == UserStatus.INVITED
        and invite_tokens.state(user, token) is LinkState.EXPIRED
    ):
        # a delivery failure is logged by the service; the page says the same either way
        with contextlib.suppress(ValidationError):
            lifecycle.user_send_invite(user=user, actor=None, request=request)
    return render(request, "accounts/invite_resent.html")


@public
@require_GET
@never_cache
@same_origin_referrer
def verify_email_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = user_from_uid(uidb64)
    state = (
        lifecycle.user_verify_email(user=user, token=token, request=request)
        if user is not None
        else LinkState.INVALID
    )
    if state is LinkState.VALID:
        messages.success(request, EMAIL_VERIFIED)
        return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")
    return render(request, "accounts/verify_email_failed.html", {"link_state": state.value})
