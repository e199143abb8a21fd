"""URL patterns of the business areas: the generic views, once per area definition.

No namespace: the sidebar finds an area's list by the name ``<area key>-list``."""

from .definitions import BUSINESS_AREAS
from .views import area_urlpatterns

urlpatterns = [pattern for area in BUSINESS_AREAS for pattern in area_urlpatterns(area)]
