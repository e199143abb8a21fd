"""Single sign-on journeys in Chromium against a real OpenID Connect provider
(tests/oidc_provider: django-oauth-toolkit in its own process, port and SQLite file).
Every step is real HTTP between three parties: the browser, the panel's live server and
the provider (authorization with PKCE, state and nonce; the code traded for an RS256 ID
token checked against the provider's JWKS; userinfo)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts import sso as sso_module
from accounts.models import Role, SSOIdentity, User, UserSession
from accounts.sso_views import SSO_FAILED
from controlpanel.audit.models import AuditEntry
from tests.factories import AdminFactory, UserFactory
from tests.oidc_provider.serve import CLIENT_ID, CLIENT_SECRET, PASSWORD

from .axe import assert_accessible_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent.parent
PROVIDER_NAME = "Example ID"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def provider(live_server, tmp_path_factory):
    """The provider, started once for the session; its base URL."""
    port = _free_port()
    database = tmp_path_factory.mktemp("oidc-provider") / "provider.sqlite3"
    callback = f"{live_server.url}/accounts/sso/callback/"
    log = open(database.with_suffix(".log"), "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve", str(port), str(database), callback],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/o/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the test provider did not start: {database.with_suffix('.log').read_text()}"
                )
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def sso(settings, provider):
    """The panel configured for the provider, as the environment would configure it
    (controlpanel/settings/base.py), read from the provider's discovery document."""
    discovery = requests.get(f"{provider}/o/.well-known/openid-configuration", timeout=5).json()
    settings.SSO_ENABLED = True
    settings.SSO_PROVIDER_NAME = PROVIDER_NAME
    settings.OIDC_ISSUER = discovery["issuer"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = discovery["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = discovery["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = discovery["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = discovery["jwks_uri"]
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.SSO_CREATE_USERS = False
    settings.SSO_TRUST_PROVIDER_MFA = False
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, sso_module.BACKEND]
    return settings


def start_sso(page, email: str, *, provider_login: bool = True) -> None:
    """From the panel's login page through the provider's, as a person would."""
    page.goto("/accounts/login/")
    page.click(f"text=Sign in with {PROVIDER_NAME}")
    if provider_login:
        page.wait_for_url("**/login/?next=**")
        expect(page.locator("h1")).to_have_text("Example ID")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")


def expect_refused(page) -> None:
    page.wait_for_url("**/accounts/login/")
    expect(page.locator("body")).to_contain_text(SSO_FAILED)


def last_refusal() -> AuditEntry:
    return AuditEntry.objects.filter(action="login failed").latest("pk")


def signed_in_as(page, user) -> None:
    page.wait_for_url(lambda url: "/accounts/" not in url and "127.0.0.1" not in url)
    page.goto("/accounts/profile/")
    expect(page.locator("main")).to_contain_text(user.email)


def test_a_linked_user_signs_in_through_the_provider(page, sso, screenshot):
    ada = UserFactory(email="ada@example.com")
    page.goto("/accounts/login/")
    expect(page.locator("body")).to_contain_text(f"Sign in with {PROVIDER_NAME}")
    assert_accessible_now(page)
    screenshot("sso-login-page")
    start_sso(page, "ada@example.com")
    signed_in_as(page, ada)
    screenshot("sso-signed-in")
    identity = SSOIdentity.objects.get(user=ada)
    assert identity.issuer == sso.OIDC_ISSUER
    login = AuditEntry.objects.filter(action="login", object_id=str(ada.pk)).latest("pk")
    assert f"through {PROVIDER_NAME}" in login.message
    assert UserSession.objects.filter(user=ada).count() == 1  # the session is registered

    # Signed out and back: the provider remembers the person, the link the user.
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/accounts/login/")
    start_sso(page, "ada@example.com", provider_login=False)
    signed_in_as(page, ada)
    assert SSOIdentity.objects.count() == 1


def test_an_unknown_email_is_refused_then_created_as_a_plain_user_when_allowed(
    page, new_page, sso, screenshot
):
    start_sso(page, "newcomer@example.com")
    expect_refused(page)
    assert_accessible_now(page)
    screenshot("sso-refused")
    assert not User.objects.filter(email="newcomer@example.com").exists()
    assert "OIDC_CREATE_USERS" in last_refusal().message

    sso.SSO_CREATE_USERS = True
    other = new_page()
    start_sso(other, "newcomer@example.com")
    other.wait_for_url(lambda url: "/accounts/" not in url and "127.0.0.1" not in url)
    created = User.objects.get(email="newcomer@example.com")
    signed_in_as(other, created)
    assert created.role == Role.USER and not created.access_groups.exists()
    assert created.sso_only and created.name == "New Comer"


def test_an_unverified_provider_email_is_refused(page, sso):
    UserFactory(email="unverified@example.com")
    start_sso(page, "unverified@example.com")
    expect_refused(page)
    assert "verified" in last_refusal().message
    assert not SSOIdentity.objects.exists()


def test_the_whitelist_still_refuses_a_wrong_address(page, sso):
    # The browser reaches the live server from 127.0.0.1 (the socket address: no proxy
    # is configured, so only REMOTE_ADDR counts).
    ada = UserFactory(email="ada@example.com", ip_whitelist=[])
    ada.ip_whitelist = [{"entry": "10.9.9.9", "network": "10.9.9.9/32"}]
    ada.save()
    start_sso(page, "ada@example.com")
    expect_refused(page)
    assert "address not whitelisted" in last_refusal().message
    assert not UserSession.objects.filter(user=ada).exists()


def test_a_deactivated_user_is_refused(page, sso):
    UserFactory(email="ada@example.com", is_active=False)
    start_sso(page, "ada@example.com")
    expect_refused(page)
    assert "inactive" in last_refusal().message


def test_a_locked_out_account_is_refused(page, sso, password):
    ada = UserFactory(email="ada@example.com")
    for _ in range(sso.AXES_FAILURE_LIMIT):
        page.goto("/accounts/login/")
        page.fill("input[name=email]", ada.email)
        page.fill("input[name=password]", "a wrong guess")
        page.click("main form button[type=submit]")
    start_sso(page, "ada@example.com")
    expect_refused(page)
    assert "locked out" in last_refusal().message


def _with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["state"] = state
    return urlunsplit(parts._replace(query=urlencode(query)))


def held_callback(page, provider: str, email: str) -> str:
    """The provider's answer (the callback URL with code and state) for a sign-in this
    browser starts, held instead of followed, as an attacker's tooling would. The person
    signs in at the provider first; the two redirects are then fetched with the
    browser's own cookies (Playwright does not route redirect hops)."""
    page.goto(f"{provider}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    start = page.request.get("/accounts/sso/start/", max_redirects=0)
    assert start.status == 302
    answer = page.request.get(start.headers["location"], max_redirects=0)
    assert answer.status == 302
    callback = answer.headers["location"]
    assert "/accounts/sso/callback/?" in callback and "code=" in callback
    return callback


def test_a_tampered_state_is_refused_and_a_callback_works_once(page, sso, provider):
    ada = UserFactory(email="ada@example.com")
    callback = held_callback(page, provider, "ada@example.com")

    page.goto(_with_state(callback, "tampered-state"))
    expect_refused(page)
    assert "state" in last_refusal().message
    page.goto(callback)  # the genuine answer still works
    signed_in_as(page, ada)
    page.click("button:has-text('Sign out')")
    page.goto(callback)  # but only once
    expect_refused(page)


def test_a_callback_replayed_in_another_browser_is_refused(new_page, sso, provider):
    ada = UserFactory(email="ada@example.com")
    callback = held_callback(new_page(), provider, "ada@example.com")
    attacker = new_page()
    attacker.goto(callback)
    expect_refused(attacker)
    assert "state" in last_refusal().message
    assert not UserSession.objects.filter(user=ada).exists()


def test_an_id_token_with_another_nonce_is_refused(page, sso):
    UserFactory(email="nonce@example.com")
    start_sso(page, "nonce@example.com")
    expect_refused(page)
    assert "Nonce" in last_refusal().message


def test_an_sso_only_user_cannot_use_a_password_but_can_use_the_provider(page, sso, password):
    ada = UserFactory(email="ada@example.com", sso_only=True)
    page.goto("/accounts/login/")
    page.fill("input[name=email]", ada.email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text("Please enter a correct e-mail address")
    expect(page.locator("main")).to_contain_text("the password form will not sign it in")
    assert "single sign-on only" in last_refusal().message
    start_sso(page, "ada@example.com")
    signed_in_as(page, ada)


def test_an_administrator_still_types_the_panels_code_after_the_provider(page, sso):
    chief = AdminFactory(email="chief@example.com")
    device = TOTPDevice.objects.create(user=chief, name="phone", confirmed=True)
    start_sso(page, "chief@example.com")
    page.wait_for_url("**/accounts/login/code/")
    page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    page.click("main form button[type=submit]")
    signed_in_as(page, chief)
    login = AuditEntry.objects.filter(action="login", object_id=str(chief.pk)).latest("pk")
    assert f"through {PROVIDER_NAME} and a code" in login.message


def test_a_provider_second_factor_counts_only_when_trusted(new_page, sso):
    boss = AdminFactory(email="boss@example.com")
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    page = new_page()
    start_sso(page, "boss@example.com")  # amr says otp, but not trusted: the code step
    page.wait_for_url("**/accounts/login/code/")
    assert device.confirmed  # the trusted run below is not asked for it

    sso.SSO_TRUST_PROVIDER_MFA = True
    page = new_page()
    start_sso(page, "boss@example.com")
    signed_in_as(page, boss)
    login = AuditEntry.objects.filter(action="login", object_id=str(boss.pk)).latest("pk")
    assert "provider's second factor" in login.message


def test_provider_groups_map_to_the_configured_panel_groups_only(page, sso):
    from tests.factories import GroupFactory

    sso.OIDC_GROUPS_CLAIM = "groups"
    sso.SSO_GROUP_MAP = {"noc": "NOC"}  # the provider's "billing" is not mapped
    noc, billing = GroupFactory(name="NOC"), GroupFactory(name="Billing")
    ada = UserFactory(email="ada@example.com")
    start_sso(page, "ada@example.com")
    signed_in_as(page, ada)
    assert set(ada.access_groups.all()) == {noc}
    assert billing not in ada.access_groups.all()
    ada.refresh_from_db()
    assert ada.role == Role.USER
    assert AuditEntry.objects.filter(action="sso groups", object_id=str(ada.pk)).exists()
