"""The settings areas served by the generic views (the reseller pages, under
``/settings/resellers/``), once per registered definition."""

from .registry import settings_definitions
from .views import area_urlpatterns

urlpatterns = [
    pattern for definition in settings_definitions() for pattern in area_urlpatterns(definition)
]
