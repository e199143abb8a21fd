"""What each URL pattern declares: its area and action, public, or self-service.

Views are decorated; the middleware reads the declaration and refuses (403) a view that
has none. ``tests/permissions/test_url_declarations.py`` walks every URL pattern.
"""

from dataclasses import dataclass

from .areas import ACTIONS, get_area

API_METHOD_ACTIONS = {
    "GET": "read",
    "HEAD": "read",
    "OPTIONS": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class Public:
    """No login needed (login, logout, password reset, verification, health)."""


@dataclass(frozen=True)
class SelfService:
    """Any signed-in user, about themselves (profile, own password, own tokens)."""


@dataclass(frozen=True)
class AreaAction:
    area: str
    action: str

    def action_for(self, method: str) -> str:
        return self.action


@dataclass(frozen=True)
class AreaByMethod:
    """API endpoints: the HTTP method decides the action (ACCESS_MODEL.md, Requests)."""

    area: str

    def action_for(self, method: str) -> str | None:
        return API_METHOD_ACTIONS.get(method.upper())


Declaration = Public | SelfService | AreaAction | AreaByMethod
ATTRIBUTE = "access_declaration"


def _declare(view, declaration: Declaration):
    setattr(view, ATTRIBUTE, declaration)
    return view


def public(view):
    return _declare(view, Public())


def self_service(view):
    return _declare(view, SelfService())


def requires(area: str, action: str):
    get_area(area)  # fail at import time on a typo
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")

    def decorator(view):
        return _declare(view, AreaAction(area, action))

    return decorator


def api_area(area: str):
    get_area(area)

    def decorator(view):
        return _declare(view, AreaByMethod(area))

    return decorator


def declaration_of(view) -> Declaration | None:
    """The declaration on a view function, a class-based view or a DRF view/viewset."""
    for candidate in (view, getattr(view, "view_class", None), getattr(view, "cls", None)):
        if candidate is not None and hasattr(candidate, ATTRIBUTE):
            return getattr(candidate, ATTRIBUTE)
    return None
