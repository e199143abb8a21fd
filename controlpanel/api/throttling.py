"""Requests per user, whether signed in by session or by token (``API_THROTTLE_RATE``)."""

import logging

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger("controlpanel.api")


class PerUserThrottle(UserRateThrottle):
    """The rate is read when a request comes in (DRF reads it once at import), so a
    changed setting applies at once. Throttling protects capacity, not access: if the
    cache that counts requests is down, requests go through (the access middleware has
    already decided them) rather than every API call failing."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # any cache backend error
            logger.warning("API throttling skipped: the cache is unavailable.", exc_info=True)
            return True
