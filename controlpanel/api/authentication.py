"""DRF authentication: take the user Django already signed in, never sign in differently.

The session (``AuthenticationMiddleware``) or an API token (``accounts.api_tokens``) has
set ``request.user`` before the access middleware decided the request; this class only
hands that user to DRF. Session requests keep Django's CSRF check; token requests carry
no cookie and were exempted by the token middleware.
"""

from rest_framework.authentication import SessionAuthentication


class PanelAuthentication(SessionAuthentication):
    def authenticate(self, request):
        user = getattr(request._request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        token = getattr(request._request, "api_token", None)
        if token is None:
            self.enforce_csrf(request)
        return user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when no one is signed in.
        return 'Bearer realm="api"'
