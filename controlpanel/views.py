from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from controlpanel.areas.summary import area_summaries
from permissions.access import public, self_service
from permissions.areas import all_areas
from permissions.resolver import effective_permissions
from permissions.responses import wants_json


@self_service
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    access = getattr(request, "access", None) or effective_permissions(request.user)
    rows = [{"area": area, "actions": access.actions(area.key)} for area in all_areas()]
    return render(
        request,
        "dashboard.html",
        {"rows": rows, "summaries": area_summaries(request.user, access)},
    )


@public
@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness and database reachability, for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404 for a URL no pattern matches: JSON under the API, the page elsewhere."""
    if wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
