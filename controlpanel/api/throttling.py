"""Requests per user, whether signed in by session or by token (``API_THROTTLE_RATE``)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class PerUserThrottle(UserRateThrottle):
    """The rate is read when a request comes in (DRF reads it once at import), so a
    changed setting applies at once."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
