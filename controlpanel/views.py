from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from controlpanel.areas.summary import area_summaries
from controlpanel.audit.refusals import wants_json
from controlpanel.kit.areas import all_areas
from controlpanel.kit.declarations import public, self_service
from permissions.resolver import access_of


@self_service
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    access = access_of(request)
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


@public
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon."""
    return redirect(static("favicon.svg"), permanent=True)


CSRF_FAILED = "The form could not be sent, and nothing was changed."


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: say plainly what happened (the form expired, or it was sent from
    another site) and offer the form again, instead of Django's bare debugging page. (The
    JSON API never gets here: its views are exempt and authenticate by token or session.)"""
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    context = {
        "message": CSRF_FAILED,
        "form_url": referer if referer and same_site else request.path,
        "reason": reason,
    }
    return render(request, "csrf_failure.html", context, status=403)
