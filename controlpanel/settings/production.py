"""Production settings: required variables have no default, so a missing one stops start-up."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    _TASK_BACKENDS,
    CLIENT_IP_HEADER,
    TRUSTED_PROXY_COUNT,
    TRUSTED_PROXY_NETWORKS,
    WEBAUTHN_ENABLED,
    WEBAUTHN_ORIGINS,
    WEBAUTHN_RP_ID,
    _panel_url,
    env,
    relying_party,
)

PROXY_HEADER_WITHOUT_NETWORKS = (
    "CLIENT_IP_HEADER is set but TRUSTED_PROXY_NETWORKS is empty: any client could then "
    "send that header and choose the address the IP whitelist and the lockout see. Set "
    "TRUSTED_PROXY_NETWORKS to the networks your proxy connects from (e.g. 10.0.0.5/32), "
    "or unset CLIENT_IP_HEADER if no proxy stands in front of the panel "
    "(see docs/deployment.md)."
)
PROXY_HEADER_WITHOUT_COUNT = (
    "CLIENT_IP_HEADER is set but TRUSTED_PROXY_COUNT is {count}: give the number of proxies "
    "between the client and the panel (nginx alone: 1), or unset CLIENT_IP_HEADER "
    "(see docs/deployment.md)."
)

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Links in e-mails are built from it; no default in production (see docs/deployment.md).
PANEL_URL = _panel_url(env.str("PANEL_URL"))
# Passkeys only over https, with an id every allowed origin belongs to. A panel served
# over plain http with nothing configured for passkeys keeps running without them.
if WEBAUTHN_ENABLED and (WEBAUTHN_RP_ID or WEBAUTHN_ORIGINS or PANEL_URL.startswith("https:")):
    relying_party(
        panel_url=PANEL_URL, rp_id=WEBAUTHN_RP_ID, origins=WEBAUTHN_ORIGINS, require_https=True
    )
else:
    WEBAUTHN_ENABLED = False
DATABASES = {"default": env.db("DATABASE_URL")}
# Mail and alerts go through `manage.py db_worker` processes in production (see
# docs/deployment.md), so a slow or broken mail server never holds up a web request.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)} (got {TASKS_BACKEND!r})."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (see docs/deployment.md).
if env.bool("BEHIND_TLS_PROXY", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# A proxy header is read only from trusted proxies: refuse to start rather than let any
# client choose its own address.
if CLIENT_IP_HEADER and not TRUSTED_PROXY_NETWORKS:
    raise ImproperlyConfigured(PROXY_HEADER_WITHOUT_NETWORKS)
if CLIENT_IP_HEADER and TRUSTED_PROXY_COUNT < 1:
    raise ImproperlyConfigured(PROXY_HEADER_WITHOUT_COUNT.format(count=TRUSTED_PROXY_COUNT))
