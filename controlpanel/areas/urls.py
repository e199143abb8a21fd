"""URL patterns of the business areas: the generic views, once per registered definition.

No namespace: the sidebar finds an area's list by the name ``<area key>-list``."""

from .registry import business_definitions
from .views import area_urlpatterns

urlpatterns = [
    pattern for definition in business_definitions() for pattern in area_urlpatterns(definition)
]
