"""Setup > Settings > Users, included under ``settings/`` without a namespace: the area's
page must be named ``user-list`` for the navigation (see permissions.context_processors)."""

from django.urls import path

from . import user_views as views

urlpatterns = [
    path("users/", views.user_list_view, name="user-list"),
    path("users/new/", views.user_create_view, name="user-create"),
    path("users/<int:pk>/", views.user_detail_view, name="user-detail"),
    path("users/<int:pk>/edit/", views.user_update_view, name="user-update"),
    path("users/<int:pk>/password/", views.user_password_view, name="user-password"),
    path("users/<int:pk>/deactivate/", views.user_deactivate_view, name="user-deactivate"),
    path("users/<int:pk>/activate/", views.user_activate_view, name="user-activate"),
    path("users/<int:pk>/delete/", views.user_delete_view, name="user-delete"),
    path("users/<int:pk>/access/", views.user_access_view, name="user-access"),
    path("users/<int:pk>/rules/new/", views.user_rule_create_view, name="user-rule-create"),
    path(
        "users/<int:pk>/rules/<int:rule_pk>/edit/",
        views.user_rule_update_view,
        name="user-rule-update",
    ),
    path(
        "users/<int:pk>/rules/<int:rule_pk>/delete/",
        views.user_rule_delete_view,
        name="user-rule-delete",
    ),
]
