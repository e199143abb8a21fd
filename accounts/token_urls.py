"""Your own API tokens, under ``/accounts/tokens/`` (self-service)."""

from django.urls import path

from . import token_views as views

app_name = "tokens"

urlpatterns = [
    path("", views.token_list_view, name="list"),
    path("new/", views.token_create_view, name="create"),
    path("<int:pk>/revoke/", views.token_revoke_view, name="revoke"),
]
