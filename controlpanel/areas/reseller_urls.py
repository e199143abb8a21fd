"""The reseller pages, under ``/settings/resellers/``: the shared generic views."""

from .resellers import RESELLERS
from .views import area_urlpatterns

urlpatterns = area_urlpatterns(RESELLERS)
