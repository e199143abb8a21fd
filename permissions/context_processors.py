from django.conf import settings
from django.urls import NoReverseMatch, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject

from .areas import all_areas
from .resolver import effective_permissions

# Each area's page, when it has one: "<key>-list" in the URL configuration in force.
_AREA_URLS: dict[tuple[str, str], str | None] = {}


def _area_url(key: str) -> str | None:
    cache_key = (str(get_urlconf() or settings.ROOT_URLCONF), key)
    if cache_key not in _AREA_URLS:
        try:
            _AREA_URLS[cache_key] = reverse(f"{key}-list")
        except NoReverseMatch:
            _AREA_URLS[cache_key] = None
    return _AREA_URLS[cache_key]


def _navigation(request):
    access = getattr(request, "access", None) or effective_permissions(request.user)
    return [
        {"area": area, "url": url}
        for area in all_areas()
        if (url := _area_url(area.key)) and access.can(area.key, "read")
    ]


def access(request):
    """``access`` (the resolved permissions) and ``nav_areas`` (areas the user may read)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "access": SimpleLazyObject(
            lambda: getattr(request, "access", None) or effective_permissions(request.user)
        ),
        "nav_areas": SimpleLazyObject(lambda: _navigation(request)),
    }
