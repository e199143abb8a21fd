"""The permission middleware: decides every request before its view runs.

Order of checks: the URL pattern's declaration (none → 403), public patterns pass,
anonymous users go to login (401 JSON for the API), the client address against the
user's IP whitelist (a miss ends the session), then the area and action against the
user's effective permissions. With a warm cache none of this queries the database.
"""

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse

from accounts.api_tokens import READ_METHODS, read_only_token_refusal

from . import audit
from .access import Public, SelfService, declaration_of
from .client_ip import client_ip
from .ipwhitelist import ip_allowed
from .resolver import effective_permissions
from .responses import forbidden, wants_json


class AccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        declaration = declaration_of(view_func)
        if declaration is None:
            audit.record(
                audit.Action.REFUSED,
                actor=getattr(request, "user", None),
                address=client_ip(request),
                object_type="url",
                object_id=request.path[:64],
                message="URL pattern declares no area and action; refused.",
            )
            return forbidden(
                request, area=None, action=None, reason="This page declares no access rule."
            )
        user = request.user
        if isinstance(declaration, Public):
            # The whitelist holds for a signed-in user on public pages too (ACCESS_MODEL).
            if user.is_authenticated:
                address = client_ip(request)
                if address is None or not ip_allowed(address, user.ip_whitelist):
                    return self._whitelist_block(request, user, address)
            return None

        if not user.is_authenticated:
            if wants_json(request):
                return JsonResponse(
                    {"detail": "Authentication credentials were not provided."}, status=401
                )
            return redirect_to_login(request.get_full_path())

        address = client_ip(request)
        if address is None or not ip_allowed(address, user.ip_whitelist):
            return self._whitelist_block(request, user, address)

        access = effective_permissions(user)
        request.access = access
        if getattr(request, "token_read_only", False) and request.method not in READ_METHODS:
            return read_only_token_refusal(request, declaration)  # accounts.api_tokens
        if isinstance(declaration, SelfService):
            return None
        action = declaration.action_for(request.method)
        if action is None:
            return None  # an unknown method: the view answers 405
        if not access.can(declaration.area, action):
            audit.record(
                audit.Action.REFUSED,
                actor=user,
                address=address,
                object_type="area",
                object_id=declaration.area,
                message=(
                    f"Refused {request.method} {request.path}: "
                    f"lacks {action} on {declaration.area}."
                ),
            )
            return forbidden(request, area=declaration.area, action=action)
        return None

    @staticmethod
    def _whitelist_block(request, user, address):
        audit.record(
            audit.Action.WHITELIST_BLOCK,
            actor=user,
            address=address,
            obj=user,
            message=(
                f"Address {address} not whitelisted; session ended."
                if address
                else "Client address could not be determined; session ended."
            ),
        )
        logout(request)
        return forbidden(
            request,
            area=None,
            action=None,
            reason="Your address is not allowed for this account. You have been signed out.",
        )
