"""Settings come from the environment through django-environ, with embedded defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings(module: str, env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    code = (
        f"import django, os; django.setup(); from django.conf import settings as s; print({expr})"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "CACHE_URL",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_DEBUG",
            "EMAIL_URL",
            "PANEL_URL",
        }
    }
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_defaults_are_embedded_sqlite_locmem_console_and_debug_off():
    out = _settings(
        "controlpanel.settings.base",
        {},
        "s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.EMAIL_BACKEND, s.DEBUG",
    )
    assert out.returncode == 0, out.stderr
    assert "sqlite3" in out.stdout
    assert "LocMemCache" in out.stdout
    assert "console" in out.stdout
    assert out.stdout.strip().endswith("False")


def test_database_and_cache_urls_switch_to_postgres_and_redis():
    out = _settings(
        "controlpanel.settings.base",
        {"DATABASE_URL": "postgres://u@db.example:5432/panel", "CACHE_URL": "redis://r:6379/1"},
        "s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.CACHES['default']['BACKEND']",
    )
    assert out.returncode == 0, out.stderr
    assert "postgresql" in out.stdout and "panel" in out.stdout
    assert "controlpanel.kit.cache.RedisCache" in out.stdout  # Django's, keeping its client


def test_debug_only_when_asked():
    out = _settings("controlpanel.settings.base", {"DJANGO_DEBUG": "1"}, "s.DEBUG")
    assert out.stdout.strip() == "True"


def test_production_refuses_to_start_without_its_required_variables():
    out = _settings("controlpanel.settings.production", {}, "s.DEBUG")
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr


def test_production_reads_its_variables():
    out = _settings(
        "controlpanel.settings.production",
        {
            "SECRET_KEY": "k" * 60,
            "ALLOWED_HOSTS": "panel.example.com",
            "DATABASE_URL": "postgres://u@db/panel",
            "PANEL_URL": "https://panel.example.com/",
        },
        "s.ALLOWED_HOSTS, s.SESSION_COOKIE_SECURE, s.DEBUG, s.PANEL_URL",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['panel.example.com'] True False https://panel.example.com"


def test_production_refuses_to_start_without_the_panel_address():
    out = _settings(
        "controlpanel.settings.production",
        {"SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "a.example", "DATABASE_URL": "postgres://u@db/p"},
        "s.DEBUG",
    )
    assert out.returncode != 0
    assert "PANEL_URL" in out.stderr


def test_a_malformed_panel_address_is_refused_with_an_example():
    out = _settings("controlpanel.settings.base", {"PANEL_URL": "panel.example.com"}, "s.DEBUG")
    assert out.returncode != 0
    assert "PANEL_URL must be" in out.stderr and "https://panel.example.com" in out.stderr
