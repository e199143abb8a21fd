"""The groups pages, included under ``settings/`` without a namespace: the area's page
must be named ``group-list`` for the navigation (see permissions.context_processors)."""

from django.urls import path

from . import views

urlpatterns = [
    path("groups/", views.group_list_view, name="group-list"),
    path("groups/new/", views.group_create_view, name="group-create"),
    path(
        "groups/default-reseller/",
        views.group_create_default_reseller_view,
        name="group-create-default-reseller",
    ),
    path("groups/<int:pk>/", views.group_detail_view, name="group-detail"),
    path("groups/<int:pk>/edit/", views.group_update_view, name="group-update"),
    path("groups/<int:pk>/delete/", views.group_delete_view, name="group-delete"),
    path("groups/<int:pk>/rules/new/", views.group_rule_create_view, name="group-rule-create"),
    path(
        "groups/<int:pk>/rules/<int:rule_pk>/edit/",
        views.group_rule_update_view,
        name="group-rule-update",
    ),
    path(
        "groups/<int:pk>/rules/<int:rule_pk>/delete/",
        views.group_rule_delete_view,
        name="group-rule-delete",
    ),
]
