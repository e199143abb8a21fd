"""Passkey pages and the JSON endpoints ``static/js/passkeys.js`` posts to.

Sign-in with a passkey and the passkey as the login's second step are public (the user
is not signed in until they succeed); both end on ``accounts.sign_in`` exactly as a
password does. Registering and removing are self-service and need fresh proof
(``accounts.reauth``). Every answer of an endpoint is JSON: ``{"redirect": url}`` on
success, ``{"error": message}`` (and a field or a page to go to) otherwise.
"""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from controlpanel.kit.declarations import public, self_service

from . import lockout, passkeys, reauth, sign_in, two_factor
from .models import Passkey
from .passkeys import PasskeyError
from .security_views import SIGN_IN_AGAIN, TOO_MANY_CODES, before_enrolment
from .views import _safe_next

BAD_JSON = (
    "The request body is not valid JSON; the browser sends the passkey answer as "
    '{"credential": {...}}. Reload the page and try again.'
)
CONFIRM_FIRST = "Confirm your password first; then add the passkey."
KEEP_A_SECOND_FACTOR = (
    "Administrators must keep a second factor here: set up an authenticator app or add "
    "another passkey before removing this one."
)


def _error(message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise PasskeyError(BAD_JSON, reason="request body is not JSON") from None
    if not isinstance(data, dict):
        raise PasskeyError(BAD_JSON, reason="request body is not a JSON object")
    return data


def _options(json_text: str) -> HttpResponse:
    return HttpResponse(json_text, content_type="application/json")


# --- Sign-in with a passkey ------------------------------------------------------------


@public
@csrf_protect
@never_cache
@require_POST
def passkey_sign_in_options_view(request: HttpRequest) -> HttpResponse:
    try:
        return _options(passkeys.authentication_options(request, purpose=passkeys.SIGN_IN))
    except PasskeyError as error:
        return _error(error.message)


def _refused(request, error: PasskeyError, *, status: int = 400) -> JsonResponse:
    """A failed passkey sign-in: audited, and counted toward the lockout of the account
    it named (and of the address) as a wrong password is."""
    lockout.count_failure(request, error.user)
    sign_in.record_refusal(
        request, user=error.user, label=error.user.email if error.user else "", reason=error.reason
    )
    return _error(error.message, status)


@public
@csrf_protect
@never_cache
@require_POST
def passkey_sign_in_view(request: HttpRequest) -> HttpResponse:
    try:
        credential = _body(request).get("credential")
        key = passkeys.find_passkey(credential)
    except PasskeyError as error:
        request.session.pop(passkeys.CHALLENGE_KEY, None)  # single use, even unread
        return _refused(request, error)
    user = key.user
    if lockout.sign_in_locked(request, user):
        request.session.pop(passkeys.CHALLENGE_KEY, None)
        sign_in.record_refusal(
            request,
            user=user,
            label=user.email,
            reason="locked out after repeated failed sign-ins (passkey)",
        )
        return _error(passkeys.REFUSED, 403)
    try:
        passkeys.verify_assertion(
            request, passkey=key, credential=credential, purpose=passkeys.SIGN_IN
        )
    except PasskeyError as error:
        return _refused(request, error)
    refusal = sign_in.admission_refusal(request, user)
    if refusal:
        if not user.is_active:  # authenticate() counts an inactive account's attempt too
            lockout.count_failure(request, user)
        sign_in.record_refusal(request, user=user, label=user.email, reason=f"{refusal} (passkey)")
        return _error(passkeys.REFUSED, 403)
    sign_in.complete(
        request,
        user,
        backend=sign_in.SESSION_BACKEND,
        message=f"Signed in with the passkey “{key.name}”.",
    )
    two_factor.mark_enrolled(request)
    return JsonResponse({"redirect": _safe_next(request)})


# --- A passkey as the login's second step ----------------------------------------------


@public
@csrf_protect
@never_cache
@require_POST
def passkey_second_factor_options_view(request: HttpRequest) -> HttpResponse:
    pending = two_factor.pending_login(request)
    if pending is None:
        return _error(SIGN_IN_AGAIN, redirect=reverse("accounts:login"))
    try:
        return _options(
            passkeys.authentication_options(
                request, purpose=passkeys.SECOND_FACTOR, user=pending[0]
            )
        )
    except PasskeyError as error:
        return _error(error.message)


@public
@csrf_protect
@never_cache
@require_POST
def passkey_second_factor_view(request: HttpRequest) -> HttpResponse:
    pending = two_factor.pending_login(request)
    if pending is None:
        return _error(SIGN_IN_AGAIN, redirect=reverse("accounts:login"))
    user, next_url, backend = pending
    try:
        credential = _body(request).get("credential")
        key = passkeys.find_passkey(credential)
        if key.user_id != user.pk:
            raise PasskeyError(
                passkeys.NOT_ACCEPTED, reason="second-step passkey of another account"
            )
        passkeys.verify_assertion(
            request, passkey=key, credential=credential, purpose=passkeys.SECOND_FACTOR, user=user
        )
        refusal = sign_in.admission_refusal(request, user, backend=backend)
        if refusal:
            raise PasskeyError(passkeys.REFUSED, reason=refusal)
    except PasskeyError as error:
        error.user = user
        request.session.pop(passkeys.CHALLENGE_KEY, None)
        answer = _refused(request, error)
        if two_factor.count_failed_code(request):
            messages.error(request, TOO_MANY_CODES)
            return _error(error.message, redirect=reverse("accounts:login"))
        return answer
    two_factor.clear_pending_login(request)
    sign_in.complete(
        request,
        user,
        backend=backend,
        message=f"Signed in with a password and the passkey “{key.name}”.",
    )
    two_factor.mark_enrolled(request)
    return JsonResponse({"redirect": next_url})


# --- Passkeys on the profile -----------------------------------------------------------


def _must_keep(request, key: Passkey) -> bool:
    """An administrator required to use a second factor keeps at least one."""
    user = request.user
    return (
        two_factor.required_for(user)
        and not two_factor.is_enabled(user)
        and not passkeys.user_passkeys(user).exclude(pk=key.pk).exists()
    )


@self_service
@before_enrolment
@require_GET
def passkeys_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/passkeys.html",
        {
            "passkeys": passkeys.user_passkeys(request.user),
            "available": passkeys.available(),
            "name_length": passkeys.NAME_LENGTH,
        },
    )


def _needs_proof() -> JsonResponse:
    query = urlencode({"next": reverse("accounts:passkeys")})
    return _error(CONFIRM_FIRST, 403, redirect=f"{reverse('accounts:confirm_password')}?{query}")


@self_service
@before_enrolment
@never_cache
@require_POST
def passkey_options_view(request: HttpRequest) -> HttpResponse:
    if not reauth.proof_is_fresh(request):
        return _needs_proof()
    try:
        passkeys.clean_name(request.user, _body(request).get("name"))
        return _options(passkeys.registration_options(request))
    except ValidationError as error:
        return _error(" ".join(error.messages), field="name")
    except PasskeyError as error:
        return _error(error.message)


@self_service
@before_enrolment
@never_cache
@require_POST
def passkey_add_view(request: HttpRequest) -> HttpResponse:
    if not reauth.proof_is_fresh(request):
        return _needs_proof()
    try:
        body = _body(request)
        key = passkeys.passkey_register(
            request=request, name=body.get("name"), credential=body.get("credential")
        )
    except ValidationError as error:
        return _error(" ".join(error.messages), field="name")
    except PasskeyError as error:
        return _error(error.message)
    two_factor.mark_enrolled(request)
    messages.success(request, f"Passkey “{key.name}” added. You can sign in with it now.")
    return JsonResponse({"redirect": reverse("accounts:passkeys")})


@self_service
@before_enrolment
@require_POST
@reauth.requires_fresh_proof(back="accounts:passkeys")
def passkey_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(Passkey, pk=pk, user=request.user)
    if _must_keep(request, key):
        messages.error(request, KEEP_A_SECOND_FACTOR)
        return redirect("accounts:passkeys")
    passkeys.passkey_remove(request=request, passkey=key)
    messages.success(request, f"Passkey “{key.name}” removed; your other sessions were ended.")
    return redirect("accounts:passkeys")
