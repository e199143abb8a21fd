"""Passkey URLs, included by ``accounts.urls`` (same ``accounts`` namespace)."""

from django.urls import path

from . import passkey_views as views

urlpatterns = [
    path(
        "login/passkey/options/",
        views.passkey_sign_in_options_view,
        name="passkey_sign_in_options",
    ),
    path("login/passkey/", views.passkey_sign_in_view, name="passkey_sign_in"),
    path(
        "login/code/passkey/options/",
        views.passkey_second_factor_options_view,
        name="passkey_second_factor_options",
    ),
    path("login/code/passkey/", views.passkey_second_factor_view, name="passkey_second_factor"),
    path("profile/passkeys/", views.passkeys_view, name="passkeys"),
    path("profile/passkeys/options/", views.passkey_options_view, name="passkey_options"),
    path("profile/passkeys/add/", views.passkey_add_view, name="passkey_add"),
    path("profile/passkeys/<int:pk>/remove/", views.passkey_remove_view, name="passkey_remove"),
]
