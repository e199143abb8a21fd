"""Setup > Settings > Users: the lifecycle buttons on a user (re-send the invitation,
send a reset link instead of setting a password, clear a sign-in lockout, reset a lost
two-factor sign-in). POST only;
the services check that the actor may manage this user (not an administrator unless
they are one, within their reseller, holding what the user holds)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import users_visible_to
from controlpanel.audit.refusals import call_service, refuse
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import requires

from . import user_services


def _target(request: HttpRequest, pk: int) -> User:
    """A user the actor may see, or 404 (another reseller's user does not exist for them)."""
    return get_object_or_404(users_visible_to(request.user), pk=pk)


def _back(request: HttpRequest, target: User) -> str:
    target_url = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target_url
    return reverse("user-detail", kwargs={"pk": target.pk})


def _run(request: HttpRequest, target: User, call, done: str) -> HttpResponse:
    outcome = call_service(request, call)
    if outcome.refused:
        return refuse(request, area="user", action="update", reason=outcome.message)
    if outcome.ok:
        messages.success(request, done)
    else:
        messages.error(request, outcome.message)
    return redirect(_back(request, target))


@requires("user", "update")
@require_POST
def user_invite_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _run(
        request,
        target,
        lambda: user_services.user_invite(user=target, actor=request.user, request=request),
        f"A new invitation was sent to {target.email}; earlier invitation links no longer work.",
    )


@requires("user", "update")
@require_POST
def user_send_reset_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _run(
        request,
        target,
        lambda: user_services.user_send_reset(user=target, actor=request.user, request=request),
        f"A password reset link was sent to {target.email}.",
    )


@requires("user", "update")
@require_POST
def user_unlock_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _run(
        request,
        target,
        lambda: user_services.user_unlock(
            user=target, actor=request.user, address=client_ip(request)
        ),
        f"{target.email} can sign in again: the failed sign-ins were cleared.",
    )


@requires("user", "update")
@require_POST
def user_two_factor_reset_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _run(
        request,
        target,
        lambda: user_services.user_two_factor_reset(
            user=target, actor=request.user, address=client_ip(request)
        ),
        f"Two-factor sign-in of {target.email} was reset and their sessions were ended; "
        "they sign in with their password and can set it up again.",
    )


@requires("user", "update")
@require_POST
def user_passkeys_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _run(
        request,
        target,
        lambda: user_services.user_passkeys_remove(
            user=target, actor=request.user, address=client_ip(request)
        ),
        f"Every passkey of {target.email} was removed and their sessions were ended; they "
        "sign in with their password and can register new passkeys.",
    )
