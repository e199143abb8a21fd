"""Absolute addresses for what leaves the panel (e-mailed links): always built from the
configured ``PANEL_URL``, never from the request's Host header, which the client writes."""

from django.conf import settings
from django.urls import reverse


def absolute_url(path: str) -> str:
    """``/accounts/login/`` -> ``https://panel.example.com/accounts/login/``."""
    return f"{settings.PANEL_URL}{path}"


def absolute_reverse(name: str, **kwargs) -> str:
    return absolute_url(reverse(name, kwargs=kwargs or None))
