"""Security headers and cookies: a Content-Security-Policy without inline script, no
framing, no token in a Referer, and production settings that pass check --deploy."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db

ROOT = Path(django_settings.BASE_DIR)
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=\"|\son[a-z]+=\"", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_pages_carry_a_content_security_policy_without_inline_script(client):
    policy = directives(client.get("/accounts/login/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_signed_in_pages_carry_the_policy_too(client_as, staff):
    response = client_as(staff).get("/accounts/profile/")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_no_template_has_inline_script_style_or_event_handlers():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in (ROOT / "templates").rglob("*.html")
        for match in INLINE.finditer(path.read_text())
    ]
    assert offenders == []


def test_pages_cannot_be_framed_or_sniffed(client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_reset_and_invitation_pages_keep_the_referrer_on_this_site(client):
    for path in ("/accounts/password-reset/MQ/abc-123/", "/accounts/invite/MQ/abc-123/"):
        # same-origin, not no-referrer: with no-referrer browsers post the form with
        # "Origin: null" and the CSRF check refuses it (tests/browser/test_journey_*).
        assert client.get(path)["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only_and_same_site(client, staff, password):
    client.post("/accounts/login/", {"email": staff.email, "password": password})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "controlpanel.settings.production",
    "SECRET_KEY": "test-" + "k" * 60,
    "ALLOWED_HOSTS": "panel.example.com",
    "PANEL_URL": "https://panel.example.com",
    "DATABASE_URL": "sqlite:////tmp/controlpanel-deploy-check.sqlite3",
    "PATH": "/usr/bin:/bin",
}


def _production(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=PRODUCTION_ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_production_cookies_are_secure_and_hsts_is_on():
    result = _production(
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SESSION_COOKIE_SAMESITE', 'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT', "
        "'X_FRAME_OPTIONS')}))"
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"


def test_deploy_check_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=PRODUCTION_ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
