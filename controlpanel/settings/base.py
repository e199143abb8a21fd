"""Settings shared by every environment.

This is the one module that reads the environment (through django-environ's ``env``);
``production`` and ``test`` import ``env`` from here rather than reading ``os.environ``.
With nothing set, the panel runs embedded: SQLite, an in-memory cache, console e-mail.
"""

import ipaddress
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from controlpanel.kit.relying_party import relying_party

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


def _development_secret() -> str:
    """A per-checkout secret, generated once, so sessions survive restarts in development."""
    path = BASE_DIR / ".dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _panel_url(value: str) -> str:
    """The address people use to reach the panel, e.g. ``https://panel.example.com``:
    every e-mailed link is built from it, never from a request's Host header."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"PANEL_URL must be the panel's address, scheme and host (and an optional path), "
            f"e.g. https://panel.example.com (got {value!r})."
        )
    return value.rstrip("/")


PANEL_URL = _panel_url(env.str("PANEL_URL", default="http://127.0.0.1:8000"))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "controlpanel.audit",
    "controlpanel.outbox",
    "resellers",
    "accounts",
    "permissions",
    "controlpanel",
    "controlpanel.areas",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.api_tokens.ApiTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "permissions.middleware.AccessMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "controlpanel.urls"
WSGI_APPLICATION = "controlpanel.wsgi.application"

# Standard widgets written in Python, byte for byte as their templates (controlpanel.kit.widgets).
FORM_RENDERER = "controlpanel.kit.widgets.PythonWidgetRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "permissions.context_processors.access",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://controlpanel")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # the same backend, keeping its Redis client object (controlpanel.kit.cache)
    CACHES["default"]["BACKEND"] = "controlpanel.kit.cache.RedisCache"

_email = env.email("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Control Panel <panel@localhost>")

# Background work (docs/deployment.md): the Django Tasks API (django-tasks, the backport of
# Django 6's django.tasks). "immediate" (the embedded default) runs a task in the web
# process right after the transaction that enqueued it commits; "database" stores tasks in
# the database for `manage.py db_worker` processes (production: one or more beside the app).
_TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
TASKS_BACKEND = env.str("TASKS_BACKEND", default="immediate")
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)} (got {TASKS_BACKEND!r})."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}
# The outbox (controlpanel.outbox): a mail that fails is tried again after 1, 2, 4 …
# minutes (at most 6 hours apart); after this many attempts it is "failed" until an
# administrator sends it again.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)

AUTH_USER_MODEL = "accounts.User"
# The lockout gate (django-axes, see accounts.lockout) must come first.
AUTHENTICATION_BACKENDS = ["accounts.lockout.LockoutBackend", "accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=12)
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Passphrases of any length up to a DoS bound; never truncated (accounts.passwords).
    {
        "NAME": "accounts.passwords.MaximumLengthValidator",
        "OPTIONS": {"max_length": env.int("PASSWORD_MAX_LENGTH", default=4096)},
    },
]

# Links e-mailed to users (accounts.tokens): signed, single-use, and this long-lived.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
INVITE_TIMEOUT = env.int("INVITE_TIMEOUT", default=7 * 24 * 3600)
EMAIL_VERIFICATION_TIMEOUT = env.int("EMAIL_VERIFICATION_TIMEOUT", default=3 * 24 * 3600)

# Failed sign-ins (django-axes; accounts.lockout, docs/security.md): counted per
# case-folded e-mail and per client address (the project's own client_ip, so no header
# can reset the count); either reaching the limit pauses sign-in for the cool-off.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
if AXES_FAILURE_LIMIT < 10:
    raise ImproperlyConfigured(
        "LOGIN_FAILURE_LIMIT must be at least 10: locking out sooner lets anyone lock out "
        f"any account (got {AXES_FAILURE_LIMIT})."
    )
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "controlpanel.kit.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_key"
AXES_USERNAME_FORM_FIELD = "email"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a success must not wipe the per-address count
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # the panel's audit log records sign-ins
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Two-factor sign-in (django-otp; accounts.two_factor).
OTP_TOTP_ISSUER = env.str("OTP_ISSUER", default="Control Panel")
OTP_REQUIRED_FOR_ADMINS = env.bool("OTP_REQUIRED_FOR_ADMINS", default=False)
OTP_LOGIN_TIMEOUT = 300  # seconds between the password step and the code
# Passkeys (WebAuthn; accounts.passkeys, docs/deployment.md). Empty: the relying-party
# id is PANEL_URL's host name and the one allowed origin PANEL_URL's origin. Checked here
# so that a wrong value stops start-up with a message naming it.
WEBAUTHN_ENABLED = env.bool("WEBAUTHN_ENABLED", default=True)
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="") or OTP_TOTP_ISSUER
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=[])
relying_party(panel_url=PANEL_URL, rp_id=WEBAUTHN_RP_ID, origins=WEBAUTHN_ORIGINS)
# Seconds a passkey challenge stays usable (it is used once either way).
WEBAUTHN_CHALLENGE_TIMEOUT = 300
# How long a password typed at sign-in (or on the "confirm your password" page) counts as
# fresh proof for turning two-factor on, minting an API token or making recovery codes.
REAUTH_WINDOW = env.int("REAUTH_WINDOW", default=600)
# "Forgot password" e-mails per account and per client address within the window; more
# requests get the same answer and send nothing.
PASSWORD_RESET_LIMIT_PER_ACCOUNT = env.int("PASSWORD_RESET_LIMIT_PER_ACCOUNT", default=3)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=20)
PASSWORD_RESET_LIMIT_WINDOW = env.int("PASSWORD_RESET_LIMIT_WINDOW", default=3600)

# Single sign-on with OpenID Connect (mozilla-django-oidc; accounts.sso, docs/deployment.md).
# Off unless OIDC_ISSUER is set: then no sign-in button, the SSO pages answer 404 and the
# backend is not in AUTHENTICATION_BACKENDS. Authorization code flow with PKCE (S256),
# state and nonce; the ID token's signature (JWKS), issuer, audience and expiry checked.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
SSO_ENABLED = bool(OIDC_ISSUER)
SSO_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_JWKS_ENDPOINT", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:sso_callback"
# A provider identity with no panel user yet: refused, unless this is on; then a user with
# role User, no groups and no reseller is created (never an administrator).
SSO_CREATE_USERS = env.bool("OIDC_CREATE_USERS", default=False)
# Administrators still type the panel's own code (TOTP) after the provider, unless this
# is on and the ID token's ``amr`` claim names a second factor (docs/security.md).
SSO_TRUST_PROVIDER_MFA = env.bool("OIDC_TRUST_PROVIDER_MFA", default=False)
# Optional: panel groups from the provider's group claim (permissions.sso_groups). Only
# the panel groups named here are ever added or removed; the role never changes.
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="")
SSO_GROUP_MAP = env.dict("OIDC_GROUP_MAP", default={})
SSO_GROUP_SYNC = "permissions.sso_groups.sso_sync_groups"
if SSO_ENABLED:
    _sso_missing = [
        name
        for name, value in (
            ("OIDC_AUTHORIZATION_ENDPOINT", OIDC_OP_AUTHORIZATION_ENDPOINT),
            ("OIDC_TOKEN_ENDPOINT", OIDC_OP_TOKEN_ENDPOINT),
            ("OIDC_USERINFO_ENDPOINT", OIDC_OP_USER_ENDPOINT),
            ("OIDC_JWKS_ENDPOINT", OIDC_OP_JWKS_ENDPOINT),
            ("OIDC_CLIENT_ID", OIDC_RP_CLIENT_ID),
            ("OIDC_CLIENT_SECRET", OIDC_RP_CLIENT_SECRET),
        )
        if not value
    ]
    if _sso_missing:
        raise ImproperlyConfigured(
            "OIDC_ISSUER is set, so single sign-on is on, but these are missing: "
            f"{', '.join(_sso_missing)}. Set them (see docs/deployment.md) or unset OIDC_ISSUER."
        )
    if OIDC_RP_SIGN_ALGO == "none" or not OIDC_RP_SIGN_ALGO.startswith(("RS", "ES")):
        raise ImproperlyConfigured(
            f"OIDC_SIGN_ALGO must be an asymmetric algorithm such as RS256 or ES256 (got "
            f"{OIDC_RP_SIGN_ALGO!r}): the ID token is checked against the provider's JWKS."
        )
    AUTHENTICATION_BACKENDS.append("accounts.sso.SSOBackend")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "controlpanel.views.csrf_failure"
# An idle timeout: accounts.middleware.SessionActivityMiddleware saves a signed-in
# session at most every SESSION_TOUCH_INTERVAL seconds, which pushes its expiry on by
# SESSION_COOKIE_AGE; saving on every request would write on every request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=8 * 3600)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_TOUCH_INTERVAL = 300
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No inline script or style anywhere; the QR code is inline SVG (no image fetch).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Client address (see docs/deployment.md). With no proxy configured only the socket
# address (REMOTE_ADDR) counts, so no header can choose the address the whitelist sees.
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_NETWORKS = env.list("TRUSTED_PROXY_NETWORKS", default=[])
for _network in TRUSTED_PROXY_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_NETWORKS: {_network!r} is not a network or an address; give "
            "comma-separated networks such as 10.0.0.5/32,10.0.1.0/24."
        ) from None
# django-ipware reads this setting before its arguments; pin it to the socket address so
# its spoofable default header order can never apply.
IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The JSON API (controlpanel.api, docs/api.md). The access middleware decides every
# request; DRF only takes the user it signed in (session or API token) and throttles.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["controlpanel.api.authentication.PanelAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["controlpanel.api.permissions.DecidedByAccessMiddleware"],
    "DEFAULT_THROTTLE_CLASSES": ["controlpanel.api.throttling.PerUserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_THROTTLE_RATE", default="1000/minute")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_METADATA_CLASS": "controlpanel.api.metadata.ApiMetadata",
    "EXCEPTION_HANDLER": "controlpanel.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Control Panel API",
    "DESCRIPTION": "Every area of the panel, with the panel's own permissions; see /api/docs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/cp",
    # Choices stay inline on each field: shared enum components would be named by field
    # name alone ("status"), which several areas use with different choices.
    "POSTPROCESSING_HOOKS": [],
}

# How long resolved permissions stay in the cache; the versioned key makes any change
# visible at once, so this only bounds memory.
ACCESS_CACHE_TIMEOUT = env.int("ACCESS_CACHE_TIMEOUT", default=3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
