"""The permission middleware: decides every request before its view runs.

Order of checks: a signed-in user's client address against their IP whitelist, on every
request (public pages and unknown URLs included; a miss ends the session); then the URL
pattern's declaration (none → 403); a method the panel does not answer (PROPFIND, …) →
405; public patterns pass; anonymous users go to login (401 JSON for the API); then the
method's action on the declared area against the user's effective permissions (a method
the declaration does not map → 405). With a warm cache none of this queries the database.

Every refusal goes through ``controlpanel.audit.refusals`` and is audited once; a 403 that
reaches the way out unaudited (CSRF, DRF, a service) is audited there.
"""

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse

from accounts.api_tokens import READ_METHODS, read_only_token_refusal
from accounts.ipwhitelist import ip_allowed
from controlpanel.audit.refusals import (
    audit_unrecorded_refusal,
    method_not_allowed,
    refuse,
    refuse_address,
    wants_json,
)
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import HTTP_METHODS, Public, SelfService, declaration_of

from .resolver import effective_permissions


class AccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            address = client_ip(request)
            if not ip_allowed(address, user.ip_whitelist):
                return refuse_address(request, user, address)
        response = self.get_response(request)
        audit_unrecorded_refusal(request, response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        declaration = declaration_of(view_func)
        if declaration is None:
            return refuse(
                request,
                area=None,
                action=None,
                reason="This page declares no access rule.",
                message="URL pattern declares no area and action; refused.",
            )
        if request.method not in HTTP_METHODS:
            return method_not_allowed(request, HTTP_METHODS)
        if isinstance(declaration, Public):
            return None  # the whitelist was checked for a signed-in user in __call__

        user = request.user
        if not user.is_authenticated:
            if wants_json(request):
                return JsonResponse(
                    {"detail": "Authentication credentials were not provided."}, status=401
                )
            return redirect_to_login(request.get_full_path())

        access = effective_permissions(user)
        request.access = access
        read_only = getattr(request, "token_read_only", False)
        if isinstance(declaration, SelfService):
            if read_only and request.method not in READ_METHODS:
                return read_only_token_refusal(request, declaration)  # accounts.api_tokens
            return None
        action = declaration.action_for(request.method)
        if action is None:
            accepted = [m for m in HTTP_METHODS if declaration.action_for(m) is not None]
            return method_not_allowed(request, accepted)
        request.declared_access = (declaration.area, action)
        if read_only and request.method not in READ_METHODS:
            return read_only_token_refusal(request, declaration)
        if not access.can(declaration.area, action):
            return refuse(
                request,
                area=declaration.area,
                action=action,
                actor=user,
                message=(
                    f"Refused {request.method} {request.path}: "
                    f"lacks {action} on {declaration.area}."
                ),
            )
        return None
