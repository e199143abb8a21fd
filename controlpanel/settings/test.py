"""Test settings: fast hashing and in-memory e-mail; database and cache still come from
DATABASE_URL / CACHE_URL so the suite runs on SQLite or on PostgreSQL and Redis."""

from .base import *  # noqa: F403
from .base import CACHES

# Tests create thousands of users: the fast hasher belongs here and nowhere else.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PANEL_URL = "http://testserver"  # the browser tests point it at their live server
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES["default"].setdefault("KEY_PREFIX", "test")
# Tasks run in-process; tests/conftest.py runs the outbox's on-commit delivery at the point
# a real transaction would commit, so `mail.outbox` sees what production would send.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
