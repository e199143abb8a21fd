"""The outbox area's pages, mounted at ``settings/outbox/``; the navigation finds the
list by the name ``outbox-list``."""

from django.urls import path

from . import outbox_views

urlpatterns = [
    path("", outbox_views.outbox_list, name="outbox-list"),
    path("<int:pk>/retry/", outbox_views.outbox_retry, name="outbox-retry"),
]
