"""DRF's permission check defers to the access middleware: it decides nothing itself.

The middleware resolves the view's declaration (``@api_area``) against the one resolver
and refuses (403, audited) before the view runs; when it lets a request through it sets
``request.access``. This class only makes sure that happened: a view without an area or
self-service declaration, or a request that did not pass the middleware, is refused
(fail closed).
"""

from rest_framework.permissions import BasePermission

from controlpanel.kit.declarations import AreaByMethod, SelfService, declaration_of


class DecidedByAccessMiddleware(BasePermission):
    message = "This request was not checked by the access middleware; refused."

    def has_permission(self, request, view) -> bool:
        declaration = declaration_of(type(view))
        if not isinstance(declaration, AreaByMethod | SelfService):
            return False
        return getattr(request, "access", None) is not None
