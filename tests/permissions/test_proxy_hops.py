"""Behind a trusted proxy, the client is the hop the proxy appended: a hop that is not an
address makes the address unknown (refused), never hands the choice to a hop the client
wrote. Proven over real HTTP: a live server, urllib sending the headers as a proxy would.
Production settings refuse to start with a proxy header and no trusted proxy networks."""

import http.cookiejar
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from controlpanel.audit.log import Action
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from controlpanel.kit.client_ip import proxied_client
from permissions.models import Rule
from tests.factories import TEST_PASSWORD, GroupFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENT = "10.0.0.7"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class ProxiedBrowser:
    """A cookie-keeping client whose requests carry the X-Forwarded-For a proxy would add."""

    def __init__(self, base: str, forwarded_for: str | None):
        self.base = base
        self.forwarded_for = forwarded_for
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> int:
        headers = {}
        if self.forwarded_for is not None:
            headers["X-Forwarded-For"] = self.forwarded_for
        body = None
        if data is not None:
            csrf = next(c.value for c in self.jar if c.name == "csrftoken")
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": csrf}).encode()
            headers["Referer"] = self.base + path
        req = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(req, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def sign_in(self, email: str) -> int:
        self.request("/accounts/login/")
        return self.request("/accounts/login/", {"email": email, "password": TEST_PASSWORD})


@pytest.fixture
def behind_nginx(settings):
    # The live server's peer is 127.0.0.1: it plays the proxy.
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def office_user():
    group = GroupFactory(name="Readers")
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    return UserFactory(
        email="office@example.com",
        groups=[group],
        ip_whitelist=[{"entry": CLIENT, "network": f"{CLIENT}/32"}],
    )


live = pytest.mark.django_db(transaction=True)
NOT_ADDRESSES = ["unknown", "unix:", "_gateway", "", "obfuscated-hop", "10.0.0.7:443"]


@live
def test_the_hop_the_proxy_appended_is_the_client(live_server, behind_nginx, office_user):
    browser = ProxiedBrowser(live_server.url, f"198.51.100.1, {CLIENT}")
    assert browser.sign_in(office_user.email) == 302
    assert browser.request("/customers/") == 200


@live
@pytest.mark.parametrize("hop", NOT_ADDRESSES)
def test_a_hop_that_is_not_an_address_refuses_the_sign_in(
    live_server, behind_nginx, office_user, hop
):
    browser = ProxiedBrowser(live_server.url, f"{CLIENT}, {hop}")
    assert browser.sign_in(office_user.email) != 302
    assert browser.request("/customers/") == 302  # not signed in: sent to the login page
    refusal = AuditEntry.objects.filter(action=Action.LOGIN_FAILED).latest("at")
    assert refusal.address is None


@live
@pytest.mark.parametrize("hop", ["unknown", "unix:", "_gateway"])
def test_a_session_whose_proxy_appends_a_non_address_is_refused_and_ended(
    live_server, behind_nginx, office_user, hop
):
    browser = ProxiedBrowser(live_server.url, CLIENT)
    assert browser.sign_in(office_user.email) == 302
    assert browser.request("/customers/") == 200

    browser.forwarded_for = f"{CLIENT}, {hop}"
    assert browser.request("/customers/") == 403
    browser.forwarded_for = CLIENT
    assert browser.request("/customers/") == 302  # the session was ended


@live
def test_a_client_written_left_hop_never_chooses_the_address(
    live_server, behind_nginx, office_user
):
    browser = ProxiedBrowser(live_server.url, f"{CLIENT}, 203.0.113.5")
    assert browser.sign_in(office_user.email) != 302
    assert AuditEntry.objects.filter(action=Action.LOGIN_FAILED).latest("at").address == (
        "203.0.113.5"
    )


@live
def test_the_header_is_ignored_from_a_peer_outside_the_trusted_networks(
    live_server, settings, office_user
):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.9.9.0/24"]  # not the live server's peer
    browser = ProxiedBrowser(live_server.url, CLIENT)
    assert browser.sign_in(office_user.email) != 302
    assert AuditEntry.objects.filter(action=Action.LOGIN_FAILED).latest("at").address == (
        "127.0.0.1"
    )


@pytest.mark.parametrize(
    ("header", "count", "client"),
    [
        ("203.0.113.9", 1, "203.0.113.9"),
        ("6.6.6.6, 203.0.113.9", 1, "203.0.113.9"),
        ("6.6.6.6, 203.0.113.9, 10.0.0.1", 2, "203.0.113.9"),
        ("6.6.6.6, 203.0.113.9, unknown", 2, None),
        ("6.6.6.6, unknown, 10.0.0.1", 2, None),
        ("203.0.113.9", 2, None),  # fewer hops than proxies
        ("", 1, None),
        ("203.0.113.9,", 1, None),
        (" 2001:db8::1 ", 1, "2001:db8::1"),
        ("::ffff:203.0.113.9", 1, "203.0.113.9"),
    ],
)
def test_the_client_is_the_left_most_hop_the_trusted_proxies_appended(header, count, client):
    found = proxied_client(header, count)
    assert (str(found) if found is not None else None) == client


def _production(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLIENT_IP", "TRUSTED_PROXY", "DATABASE_URL", "CACHE_URL"))
    }
    clean.update(
        SECRET_KEY="k" * 60,
        ALLOWED_HOSTS="panel.example.com",
        PANEL_URL="https://panel.example.com",
        DATABASE_URL="postgres://u@db/panel",
        DJANGO_SETTINGS_MODULE="controlpanel.settings.production",
        **env,
    )
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_production_refuses_a_proxy_header_without_trusted_networks():
    out = _production({"CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "TRUSTED_PROXY_COUNT": "1"})
    assert out.returncode != 0
    assert "ImproperlyConfigured" in out.stderr
    assert "TRUSTED_PROXY_NETWORKS is empty" in out.stderr


def test_production_refuses_a_proxy_header_without_a_proxy_count():
    out = _production(
        {"CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "TRUSTED_PROXY_NETWORKS": "10.0.0.5/32"}
    )
    assert out.returncode != 0
    assert "TRUSTED_PROXY_COUNT is 0" in out.stderr


def test_a_malformed_trusted_network_stops_start_up_naming_it():
    out = _production(
        {
            "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
            "TRUSTED_PROXY_COUNT": "1",
            "TRUSTED_PROXY_NETWORKS": "10.0.0.5/32,nginx.internal",
        }
    )
    assert out.returncode != 0
    assert "'nginx.internal' is not a network" in out.stderr


def test_production_starts_with_a_complete_proxy_configuration():
    out = _production(
        {
            "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
            "TRUSTED_PROXY_COUNT": "1",
            "TRUSTED_PROXY_NETWORKS": "10.0.0.5/32",
        }
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_production_starts_with_no_proxy_configured():
    out = _production({})
    assert out.returncode == 0, out.stderr
