"""A real OpenID Connect provider for the single sign-on tests: a small Django site on
django-oauth-toolkit in OIDC mode, run in its own process, on its own port and SQLite
file (``serve``), so the panel's live server and the provider are two HTTP servers and
every step (redirects, the code, PKCE, the token, JWKS, userinfo) really happens."""
