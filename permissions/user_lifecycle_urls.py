"""The users page's lifecycle buttons, included under ``settings/users/`` beside the
user pages (distinct sub-paths, no namespace, like ``permissions.user_urls``)."""

from django.urls import path

from . import user_lifecycle_views as views

urlpatterns = [
    path("<int:pk>/invite/", views.user_invite_view, name="user-invite"),
    path("<int:pk>/send-reset/", views.user_send_reset_view, name="user-send-reset"),
    path("<int:pk>/unlock/", views.user_unlock_view, name="user-unlock"),
    path(
        "<int:pk>/two-factor/reset/",
        views.user_two_factor_reset_view,
        name="user-two-factor-reset",
    ),
    path("<int:pk>/passkeys/remove/", views.user_passkeys_remove_view, name="user-passkeys-remove"),
]
