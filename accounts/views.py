from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import public, self_service

from . import reauth, sessions, sign_in, two_factor
from .forms import LoginForm, OwnPasswordChangeForm, ProfileForm
from .services import user_change_own_password


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@public
@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            return sign_in.after_password(request, form.user, next_url=_safe_next(request))
        if form.refusal_reason:
            sign_in.record_refusal(
                request,
                user=form.user,
                label=form.cleaned_data.get("email") or "",
                reason=form.refusal_reason,
            )
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request)})


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(
            audit.Action.LOGOUT, actor=request.user, address=client_ip(request), obj=request.user
        )
    logout(request)
    messages.info(request, "You have been signed out.")
    return redirect("accounts:login")


@self_service
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile was saved.")
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "client_address": client_ip(request),
            "sessions": sessions.active_sessions(request),
            "idle_timeout": sessions.idle_timeout_text(),
            "two_factor": two_factor.status(request.user),
        },
    )


@self_service
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = OwnPasswordChangeForm(request.user, request.POST or None, request=request)
    if request.method == "POST" and not form.is_valid() and reauth.end_if_locked_out(request):
        messages.error(request, reauth.LOCKED_OUT)
        return redirect(settings.LOGIN_URL)
    if request.method == "POST" and form.is_valid():
        user = user_change_own_password(
            user=request.user,
            new_password=form.cleaned_data["new_password1"],
            address=client_ip(request),
        )
        update_session_auth_hash(request, user)  # this session stays, the others end
        messages.success(request, "Your password was changed.")
        return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})
