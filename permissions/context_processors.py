from django.conf import settings
from django.urls import NoReverseMatch, get_urlconf, resolve, reverse
from django.utils.functional import SimpleLazyObject

from controlpanel.kit.areas import all_areas
from controlpanel.kit.declarations import AreaAction, AreaByMethod, declaration_of

from .resolver import access_of
from .review_schedule import review_due_now

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
    access = access_of(request)
    return [
        {"area": area, "url": url}
        for area in all_areas()
        if (url := _area_url(area.key)) and access.can(area.key, "read")
    ]


# Pages that are not an area's list but belong in the navigation (URL name, label). Each is
# shown to whoever the resolver lets through the page's own URL declaration, so the link
# and the page never disagree.
NAV_PAGES = (("access-review", "Access review"),)


def _page_allowed(access, url: str) -> bool:
    declaration = declaration_of(resolve(url).func)
    if isinstance(declaration, AreaAction | AreaByMethod):
        return access.can(declaration.area, declaration.action_for("GET"))
    return declaration is not None


def _navigation_pages(request):
    access = access_of(request)
    pages = []
    for name, label in NAV_PAGES:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        if _page_allowed(access, url):
            pages.append({"label": label, "url": url, "badge": _badge(name)})
    return pages


def _badge(name: str) -> str:
    """A word beside a page's link: "Review due" on the access review while one is due."""
    if name == "access-review":
        return "Review due" if review_due_now() else ""
    return ""


def access(request):
    """``access`` (the resolved permissions), ``nav_areas`` (areas the user may read) and
    ``nav_pages`` (other pages of the navigation the user may open)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "access": SimpleLazyObject(lambda: access_of(request)),
        "nav_areas": SimpleLazyObject(lambda: _navigation(request)),
        "nav_pages": SimpleLazyObject(lambda: _navigation_pages(request)),
    }
