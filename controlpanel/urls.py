from django.urls import include, path

from permissions.audit_urls import review_urlpatterns

from . import views
from .api.docs import api_docs

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("accounts/tokens/", include("accounts.token_urls")),
    path("api/cp/", include("controlpanel.api.urls")),
    path("api/docs", api_docs, name="api-docs"),
    path("", include("controlpanel.areas.urls")),
    path("settings/", include("controlpanel.areas.reseller_urls")),
    path("settings/", include("permissions.user_urls")),
    path("settings/users/", include("permissions.user_lifecycle_urls")),
    path("settings/", include("permissions.urls")),
    path("settings/audit/", include("permissions.audit_urls")),
    path("settings/outbox/", include("permissions.outbox_urls")),
    path("settings/access-review/", include(review_urlpatterns)),
]

handler404 = "controlpanel.views.not_found"
