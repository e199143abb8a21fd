"""What each URL pattern declares: its area and action, public, or self-service.

Views are decorated; the middleware reads the declaration and refuses (403) a view that
has none. ``tests/permissions/test_url_declarations.py`` walks every URL pattern.

A declaration also says which HTTP methods reach the view and which action each needs:
an area declaration maps every method it accepts to an action, and the middleware
answers 405 to a method it does not map, so no method slips past unchecked. A writing
method (POST, PUT, PATCH, DELETE) always needs a write action (create, update, delete);
``requires`` refuses, at import time, a read declaration that accepts one.
``tests/permissions/test_methods.py`` walks every URL pattern with every method.
"""

from dataclasses import dataclass

from .areas import ACTIONS, get_area

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Every method the panel answers; any other (PROPFIND, TRACE, …) gets 405 before a view.
HTTP_METHODS = SAFE_METHODS + WRITE_METHODS
WRITE_ACTIONS = ("create", "update", "delete")
# What ``requires`` accepts when a page does not list its methods: a read page is
# fetched; a write page is fetched (its form) and posted.
READ_PAGE_METHODS = ("GET", "HEAD")
WRITE_PAGE_METHODS = ("GET", "HEAD", "POST")

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
    """A page: one action on one area, for the methods it lists (others get 405)."""

    area: str
    action: str
    methods: tuple[str, ...] = READ_PAGE_METHODS

    def action_for(self, method: str) -> str | None:
        return self.action if method.upper() in self.methods else None


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


def requires(area: str, action: str, *, methods=None):
    """Declare a page: ``action`` on ``area`` for each of ``methods``. Without
    ``methods``, a read page accepts GET and HEAD, a write page GET, HEAD and POST."""
    get_area(area)  # fail at import time on a typo
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")
    if methods is None:
        methods = READ_PAGE_METHODS if action == "read" else WRITE_PAGE_METHODS
    methods = tuple(method.upper() for method in methods)
    unknown = [method for method in methods if method not in HTTP_METHODS]
    if unknown or not methods:
        raise ValueError(f"Unknown or no HTTP methods {unknown!r}; use {HTTP_METHODS}.")
    writing = [method for method in methods if method in WRITE_METHODS]
    if writing and action not in WRITE_ACTIONS:
        raise ValueError(
            f"{', '.join(writing)} writes: declare a write action ({', '.join(WRITE_ACTIONS)}) "
            f"for it, not {action!r}."
        )

    def decorator(view):
        return _declare(view, AreaAction(area, action, methods))

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
