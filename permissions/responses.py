"""Refusal responses: a page for the panel, JSON for the API. They name what was missing
and never include the refused data."""

from django.http import JsonResponse
from django.shortcuts import render

from .areas import ACTIONS, get_area, is_area

API_PREFIX = "/api/cp/"


def wants_json(request) -> bool:
    """The JSON API answers in JSON; the human API docs page (/api/docs) is a page."""
    return request.path.startswith(API_PREFIX)


def _standing(request, area: str | None, action: str | None) -> tuple[bool, tuple[str, ...]]:
    """Whether the user holds the refused action, and the resolver's reasons when not.

    A refusal of an action they hold comes from a rule of the panel about this one change
    (an administrator's account, a grant beyond their own); one they do not hold is
    explained as the effective-permission grid explains it (a missing grant, or a deny
    rule that no grant can outweigh)."""
    access = getattr(request, "access", None)
    if access is None or not area or not is_area(area) or action not in ACTIONS:
        return False, ()
    if access.can(area, action):
        return True, ()
    return False, access.explain(area, action).reasons


def forbidden(request, *, area: str | None, action: str | None, reason: str = ""):
    label = get_area(area).label if area and is_area(area) else None
    if not reason:
        reason = (
            f"You do not have permission to {action} in {label}."
            if label
            else "You do not have permission to open this page."
        )
    if wants_json(request):
        return JsonResponse({"detail": reason, "area": area, "action": action}, status=403)
    held, why = _standing(request, area, action)
    return render(
        request,
        "403.html",
        {
            "area_label": label,
            "area": area,
            "action": action,
            "reason": reason,
            "held": held,
            "why": why,
        },
        status=403,
    )
