"""The reseller pages, under ``/settings/resellers/``: the shared generic views."""

from controlpanel.areas.views import area_urlpatterns

from .views import RESELLERS

urlpatterns = area_urlpatterns(RESELLERS)
