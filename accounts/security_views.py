"""Self-service security pages: two-factor sign-in, sessions, e-mail verification; and
the login's second step (the code), which is public because the user is not signed in
until it succeeds."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.ipwhitelist import ip_allowed
from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import public, self_service

from . import lifecycle, passkeys, reauth, sessions, sign_in, two_factor
from .models import UserSession
from .security_forms import CodeForm, ConfirmPasswordForm, ProveItIsYouForm
from .views import _safe_next

SIGN_IN_AGAIN = "Your sign-in timed out. Enter your e-mail address and password again."
TOO_MANY_CODES = "Too many wrong codes. Enter your e-mail address and password again."
REQUIRED_FOR_ADMINS = "Administrators must use two-factor sign-in here, so it cannot be turned off."
ENROL_FIRST = (
    "Administrators must set up two-factor sign-in before using the panel. "
    "Scan the code below with an authenticator app."
)


def before_enrolment(view):
    """Reachable by an administrator who must still enrol (OTP_REQUIRED_FOR_ADMINS)."""
    view.allowed_before_enrolment = True
    return view


# --- The login's second step -----------------------------------------------------------


@public
@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    pending = two_factor.pending_login(request)
    if pending is None:
        messages.info(request, SIGN_IN_AGAIN)
        return redirect("accounts:login")
    user, next_url, backend = pending
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = client_ip(request)
        device = None
        if ip_allowed(address, user.ip_whitelist):
            device = two_factor.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            first_step = two_factor.pending_method(request) or "with a password"
            two_factor.clear_pending_login(request)
            sign_in.complete(
                request,
                user,
                backend=backend,
                message=f"Signed in {first_step} and a {two_factor.describe(device)}.",
            )
            two_factor.mark_enrolled(request)
            if two_factor.is_recovery_device(device):
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Make new ones on your profile "
                    "if you are running low.",
                )
            return redirect(next_url)
        audit.record(
            audit.Action.LOGIN_FAILED,
            actor_label=user.email,
            address=address,
            obj=user,
            message="Login refused: wrong or throttled second-factor code"
            + ("" if ip_allowed(address, user.ip_whitelist) else ", address not whitelisted")
            + ".",
        )
        if two_factor.count_failed_code(request):
            messages.error(request, TOO_MANY_CODES)
            return redirect("accounts:login")
        form.add_error("code", two_factor.WRONG_CODE)
    return render(
        request,
        "accounts/login_code.html",
        {
            "form": form,
            "has_code": two_factor.is_enabled(user),
            "has_passkey": passkeys.available() and passkeys.has_passkey(user),
        },
    )


# --- Two-factor sign-in on the profile -------------------------------------------------


def _two_factor_page(request, *, prove_form=None, status=200) -> HttpResponse:
    return render(
        request,
        "accounts/two_factor.html",
        {
            "two_factor": two_factor.status(request.user),
            "prove_form": prove_form or ProveItIsYouForm(),
        },
        status=status,
    )


@self_service
@before_enrolment
@require_http_methods(["GET"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    return _two_factor_page(request)


@self_service
@before_enrolment
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@reauth.requires_fresh_proof()
def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_factor.is_enabled(user):
        return redirect("accounts:two_factor")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.two_factor_confirm(
            user=user, code=form.cleaned_data["code"], request=request
        )
        if codes is not None:
            messages.success(request, "Two-factor sign-in is on.")
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
        form.add_error("code", two_factor.WRONG_CODE)
    elif request.method == "GET" and two_factor.required_for(user):
        messages.info(request, ENROL_FIRST)
    device = two_factor.pending_device(user)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": two_factor.qr_svg(device),
            "secret": two_factor.secret_text(device),
        },
    )


def _proven(request) -> tuple[bool, ProveItIsYouForm]:
    form = ProveItIsYouForm(request.POST)
    if not form.is_valid():
        return False, form
    if two_factor.proves_identity(
        request,
        code=form.cleaned_data.get("code") or "",
        password=form.cleaned_data.get("password") or "",
    ):
        return True, form
    form.add_error(None, two_factor.WRONG_PROOF)
    return False, form


def _locked_out_answer(request) -> HttpResponse | None:
    """After a wrong password: a locked-out account's session ends (accounts.reauth)."""
    if reauth.end_if_locked_out(request):
        messages.error(request, reauth.LOCKED_OUT)
        return redirect(settings.LOGIN_URL)
    return None


@self_service
@sensitive_post_parameters("code", "password")
@require_POST
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    if two_factor.required_for(request.user):
        messages.error(request, REQUIRED_FOR_ADMINS)
        return redirect("accounts:two_factor")
    if not two_factor.is_enabled(request.user):
        return redirect("accounts:two_factor")
    proven, form = _proven(request)
    if not proven:
        return _locked_out_answer(request) or _two_factor_page(request, prove_form=form, status=400)
    two_factor.two_factor_disable(user=request.user, request=request)
    messages.success(request, "Two-factor sign-in is off. Your other sessions were ended.")
    return redirect("accounts:two_factor")


@self_service
@sensitive_post_parameters("code", "password")
@never_cache
@require_POST
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    if not two_factor.is_enabled(request.user):
        return redirect("accounts:two_factor")
    proven, form = _proven(request)
    if not proven:
        return _locked_out_answer(request) or _two_factor_page(request, prove_form=form, status=400)
    codes = two_factor.recovery_codes_regenerate(user=request.user, request=request)
    messages.success(request, "New recovery codes made; the old ones no longer work.")
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@self_service
@before_enrolment
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def confirm_password_view(request: HttpRequest) -> HttpResponse:
    """Fresh proof for a sensitive change (accounts.reauth), then back where the user was."""
    next_url = _safe_next(request)
    form = ConfirmPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if reauth.password_is_correct(request, form.cleaned_data["password"]):
            reauth.note_proof(request)
            return redirect(next_url)
        locked = _locked_out_answer(request)
        if locked is not None:
            return locked
        form.add_error("password", reauth.WRONG_PASSWORD)
    return render(
        request,
        "accounts/confirm_password.html",
        {"form": form, "next": next_url, "minutes": max(1, settings.REAUTH_WINDOW // 60)},
    )


# --- Sessions and e-mail verification --------------------------------------------------


@self_service
@require_POST
def session_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(UserSession, pk=pk, user=request.user)
    if sessions.session_end(request=request, record=record):
        messages.info(request, "This session was ended; you are signed out.")
        return redirect(settings.LOGIN_URL)
    messages.success(request, "The session was ended.")
    return redirect("accounts:profile")


@self_service
@require_POST
def sessions_end_others_view(request: HttpRequest) -> HttpResponse:
    sessions.sessions_end_others(request=request)
    messages.success(request, "Every other session of your account was ended.")
    return redirect("accounts:profile")


@self_service
@require_POST
def send_verification_view(request: HttpRequest) -> HttpResponse:
    try:
        sent = lifecycle.user_send_verification(user=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:profile")
    if sent:
        messages.success(
            request, f"A verification link was sent to {request.user.email}. It works once."
        )
    else:
        messages.info(request, "Your e-mail address is already verified.")
    return redirect("accounts:profile")
