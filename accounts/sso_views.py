"""The two single sign-on pages: the start (off to the provider) and the callback (back
from it). Both are public (the person is not signed in yet) and answer 404 unless single
sign-on is configured (``SSO_ENABLED``).

The start is mozilla-django-oidc's request view as it is: a fresh state, nonce and PKCE
verifier kept in the session, and the redirect to the provider. The callback is the
panel's own, so that every refusal is audited and answered like any failed sign-in:
the state must be one this browser's session started (and is used once), then the
library's backend trades the code and checks the ID token (``accounts.sso.SSOBackend``),
and the sign-in ends as a password sign-in does (``accounts.sign_in``).
"""

from __future__ import annotations

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import public

from . import lockout, sign_in, sso, two_factor

SSO_FAILED = (
    "Single sign-on did not sign you in. Try again, or ask an administrator whether your "
    "account may use it."
)
STATES_KEY = "oidc_states"  # mozilla-django-oidc's: state -> nonce and PKCE verifier
NEXT_KEY = "oidc_login_next"  # mozilla-django-oidc's: where to go, already checked as safe


def _require_enabled() -> None:
    if not sso.is_enabled():
        raise Http404("Single sign-on is not configured.")


def _refuse(request: HttpRequest, reason: str, *, user=None, email: str = "") -> HttpResponse:
    audit.record(
        audit.Action.LOGIN_FAILED,
        actor=user,
        actor_label=(email or (user.email if user else ""))[:254],
        address=client_ip(request),
        object_type="user",
        object_id=str(user.pk) if user else "",
        message=f"Single sign-on refused: {reason}.",
    )
    messages.error(request, SSO_FAILED)
    return redirect("accounts:login")


def _take_state(request: HttpRequest) -> dict | None:
    """The nonce and PKCE verifier of the sign-in this state names, if this session
    started it; the entry goes either way, so a callback cannot be replayed."""
    states = request.session.get(STATES_KEY)
    if not isinstance(states, dict):
        return None
    entry = states.pop(request.GET.get("state", ""), None)
    request.session[STATES_KEY] = states
    return entry if isinstance(entry, dict) else None


@public
@never_cache
@require_GET
def sso_start_view(request: HttpRequest) -> HttpResponse:
    _require_enabled()
    return OIDCAuthenticationRequestView.as_view()(request)


@public
@never_cache
@require_GET
def sso_callback_view(request: HttpRequest) -> HttpResponse:
    _require_enabled()
    entry = _take_state(request)
    if request.GET.get("error"):
        return _refuse(request, f"the provider answered {request.GET['error'][:100]!r}")
    if entry is None:
        return _refuse(request, "the state does not name a sign-in this browser started")
    if not request.GET.get("code"):
        return _refuse(request, "the provider's answer has no code")
    backend = sso.SSOBackend()
    try:
        user = backend.authenticate(
            request, nonce=entry.get("nonce"), code_verifier=entry.get("code_verifier")
        )
    except sso.SSORefused as refusal:
        return _refuse(request, refusal.reason, user=refusal.user, email=refusal.email)
    except (
        SuspiciousOperation,
        requests.RequestException,
        jwt.PyJWTError,
        ValueError,
        KeyError,
        TypeError,
    ) as error:
        return _refuse(request, f"the provider's answer failed a check ({error})"[:500])
    if user is None:
        return _refuse(request, "the provider's answer was incomplete")
    # What a password sign-in asks once the password is right (accounts.sign_in), and
    # the lockout that authenticate() would have asked first.
    reason = sign_in.admission_refusal(request, user, backend=sso.BACKEND)
    if not reason and lockout.sign_in_locked(request, user):
        reason = "locked out after repeated failed sign-ins"
    if reason:
        return _refuse(request, reason, user=user)
    if settings.OIDC_GROUPS_CLAIM and settings.SSO_GROUP_MAP:
        import_string(settings.SSO_GROUP_SYNC)(
            user=user, claims=backend.claims, address=client_ip(request)
        )
        user.refresh_from_db()
    provider_mfa = sso.provider_asserted_mfa(backend.claims)
    method = f"through {sso.provider_name()}"
    next_url = request.session.pop(NEXT_KEY, None) or "/"
    if not provider_mfa and sign_in.needs_second_step(user):
        # not signed in yet: the code (or passkey) step finishes it, as after a password
        user.backend = sso.BACKEND
        two_factor.begin_pending_login(request, user, next_url=next_url, method=method)
        return redirect("accounts:login_code")
    if provider_mfa:
        method += " with the provider's second factor (amr)"
    sign_in.complete(request, user, backend=sso.BACKEND, message=f"Signed in {method}.")
    if provider_mfa:
        two_factor.mark_enrolled(request)  # the provider's factor counts as the panel's
    return redirect(next_url)
