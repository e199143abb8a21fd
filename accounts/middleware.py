import zoneinfo

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from controlpanel.kit.declarations import Public, declaration_of

from . import sessions, two_factor


class UserTimezoneMiddleware:
    """Show every timestamp in the signed-in user's own time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class SessionActivityMiddleware:
    """Keep ``UserSession`` records current and make SESSION_IDLE_TIMEOUT an idle
    timeout: a signed-in request that reached its view touches the session at most once
    every five minutes (``accounts.sessions.touch``), which saves it and so pushes its
    expiry on. Listed after the access middleware, so refused requests touch nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(request, "api_token", None) is not None:
            return None  # signed in by an API token: there is no session to keep
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            sessions.touch(request)
        return None


class TwoFactorRequiredMiddleware:
    """With OTP_REQUIRED_FOR_ADMINS on, an administrator without a confirmed two-factor
    device is sent to enrolment and can open nothing else (public pages and sign-out
    excepted) until enrolled. Listed after the access middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.OTP_REQUIRED_FOR_ADMINS:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_administrator:
            return None
        if isinstance(declaration_of(view_func), Public):
            return None
        if getattr(view_func, "allowed_before_enrolment", False):
            return None
        if getattr(request, "api_token", None) is not None:
            # A token request has no session to remember the answer in.
            if two_factor.has_second_factor(user):
                return None
        elif two_factor.has_device_cached(request):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Set up two-factor sign-in before using the panel."}, status=403
            )
        return redirect("accounts:two_factor_setup")
