"""Settings for the peer of benchmark 3 (benchmarks/peer.py) only: stock Django with
``django.contrib.admin`` and ``django.contrib.auth`` (``AUTH_USER_MODEL = "auth.User"``,
ModelBackend), the same database engine (its own PostgreSQL database, from
DATABASE_URL), the same cache, session engine and password hasher setting as the panel
under ``controlpanel.settings.test``. Never used by the panel itself.

The panel's ``Reseller`` and ``AuditEntry`` models are installed as they are (their
tables created from the models, ``--run-syncdb``: their migrations depend on the panel's
other apps), so admin's reseller and audit pages read the same tables as the panel's."""

import environ

from controlpanel.settings.test import PASSWORD_HASHERS as PANEL_PASSWORD_HASHERS

env = environ.Env()

DEBUG = False
SECRET_KEY = "peer-benchmark-only-not-a-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "resellers",
    "controlpanel.audit",
]
MIGRATION_MODULES = {"resellers": None, "audit": None}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peer_urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://peer")}

AUTH_USER_MODEL = "auth.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = PANEL_PASSWORD_HASHERS

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
