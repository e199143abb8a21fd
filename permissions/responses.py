"""Refusal responses: a page for the panel, JSON for the API. They name what was missing
and never include the refused data."""

from django.http import JsonResponse
from django.shortcuts import render

from .areas import get_area, is_area

API_PREFIX = "/api/cp/"


def wants_json(request) -> bool:
    """The JSON API answers in JSON; the human API docs page (/api/docs) is a page."""
    return request.path.startswith(API_PREFIX)


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
    return render(
        request,
        "403.html",
        {"area_label": label, "area": area, "action": action, "reason": reason},
        status=403,
    )
