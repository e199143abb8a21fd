"""The IP whitelist at its edges, over real HTTP behind a configured proxy (so each request
says its client address in ``X-Forwarded-For``, as the proxy would): public pages,
addresses that cannot be determined, IPv4-mapped IPv6, API tokens, and one decision that
the login, every request, tokens and ``check_access --ip`` share (ACCESS_MODEL.md)."""

import pytest

from accounts.api_tokens import api_token_create
from accounts.forms import INVALID_LOGIN
from accounts.ipwhitelist import (
    UNDETERMINED,
    address_decision,
    parse_whitelist,
    stored_whitelist,
)
from accounts.models import ApiToken
from controlpanel.audit.models import AuditEntry
from tests.api.conftest import Api, make_token
from tests.factories import UserFactory

from .live_http import Browser

pytestmark = pytest.mark.django_db(transaction=True)

INSIDE, OUTSIDE = "203.0.113.7", "198.51.100.1"
NOT_AN_ADDRESS = "unknown"  # what some proxies send when they do not know


@pytest.fixture(autouse=True)
def behind_a_proxy(settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32", "::1/128"]


def whitelisted(*entries, **kwargs):
    return UserFactory(
        email="wendy@example.com",
        ip_whitelist=stored_whitelist(parse_whitelist(entries)),
        **kwargs,
    )


def from_address(live_server, address: str) -> Browser:
    return Browser(live_server.url, headers={"X-Forwarded-For": address})


def sign_in(browser: Browser, user, password: str):
    return browser.request(
        "POST", "/accounts/login/", form={"email": user.email, "password": password}
    )


def is_signed_in(browser: Browser) -> bool:
    return browser.request("GET", "/accounts/profile/").status == 200


# --- Public pages -------------------------------------------------------------------------


@pytest.mark.parametrize("public_page", ["/healthz", "/accounts/login/", "/no-such-page/"])
def test_a_signed_in_user_from_elsewhere_opening_a_public_page_is_signed_out_and_audited(
    live_server, password, public_page
):
    user = whitelisted("203.0.113.0/24")
    browser = from_address(live_server, INSIDE)
    assert sign_in(browser, user, password).status == 302
    browser.headers["X-Forwarded-For"] = OUTSIDE
    answer = browser.request("GET", public_page)
    assert answer.status == 403
    assert "not allowed for this account" in answer.text
    entry = AuditEntry.objects.get(action="whitelist block", actor=user)
    assert entry.address == OUTSIDE
    browser.headers["X-Forwarded-For"] = INSIDE
    assert not is_signed_in(browser)  # the session is gone, not just this request


def test_an_anonymous_visitor_still_opens_public_pages_from_anywhere(live_server):
    assert from_address(live_server, OUTSIDE).request("GET", "/healthz").status == 200


# --- An address that cannot be determined ---------------------------------------------------


def test_an_undetermined_address_cannot_sign_in_even_with_an_empty_whitelist(live_server, password):
    user = whitelisted()
    browser = from_address(live_server, NOT_AN_ADDRESS)
    answer = sign_in(browser, user, password)
    assert answer.status == 200 and INVALID_LOGIN in answer.text  # like any failed login
    entry = AuditEntry.objects.get(action="login failed")
    assert UNDETERMINED in entry.message
    assert entry.address is None


def test_an_undetermined_address_is_refused_on_every_request_as_at_login(live_server):
    user = whitelisted()
    browser = from_address(live_server, NOT_AN_ADDRESS).signed_in_as(user)
    assert browser.request("GET", "/healthz").status == 403
    entry = AuditEntry.objects.get(action="whitelist block", actor=user)
    assert "could not be determined" in entry.message


# --- IPv4-mapped IPv6 -----------------------------------------------------------------------


def test_an_ipv4_mapped_entry_is_stored_in_its_ipv4_form():
    (entry,) = parse_whitelist(["::ffff:203.0.113.7"])
    assert (entry.entry, entry.network) == ("203.0.113.7", "203.0.113.7/32")
    (network,) = parse_whitelist(["::ffff:203.0.113.0/120"])
    assert (network.entry, network.network) == ("203.0.113.0/24", "203.0.113.0/24")


def test_an_ipv4_mapped_entry_given_through_the_api_is_stored_as_ipv4(admin, outsider):
    api = Api(make_token(admin))
    response = api.patch(
        f"/api/cp/user/{outsider.pk}",
        {"ip_whitelist": ["::ffff:203.0.113.7"]},
        HTTP_X_FORWARDED_FOR=INSIDE,
    )
    assert response.status_code == 200
    assert response.json()["ip_whitelist"] == ["203.0.113.7"]


@pytest.mark.parametrize("client", [INSIDE, f"::ffff:{INSIDE}"])
def test_an_ipv4_mapped_entry_lets_the_user_sign_in_from_that_address(
    live_server, password, client
):
    user = whitelisted(f"::ffff:{INSIDE}")
    browser = from_address(live_server, client)
    assert sign_in(browser, user, password).status == 302
    assert is_signed_in(browser)


def test_an_entry_stored_in_mapped_form_before_this_fix_matches_too(live_server, password):
    user = UserFactory(
        email="legacy@example.com",
        ip_whitelist=[{"entry": f"::ffff:{INSIDE}", "network": "::ffff:cb00:7107/128"}],
    )
    browser = from_address(live_server, INSIDE)
    assert sign_in(browser, user, password).status == 302


# --- API tokens -----------------------------------------------------------------------------


def test_a_token_used_from_outside_the_whitelist_is_refused_audited_and_not_counted(live_server):
    user = whitelisted("203.0.113.0/24", role="administrator")
    token, raw = api_token_create(user=user, name="script", address=None)
    browser = from_address(live_server, OUTSIDE)
    answer = browser.request("GET", "/api/cp/customer", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status == 403
    assert answer.json()["detail"].startswith("Your address is not allowed")
    assert AuditEntry.objects.filter(action="whitelist block", actor=user).count() == 1
    token = ApiToken.objects.get(pk=token.pk)
    assert token.last_used_at is None and token.last_used_address is None


# --- One decision everywhere ----------------------------------------------------------------

CASES = [
    # (whitelist entries, client address as the proxy reports it, allowed)
    ([], INSIDE, True),
    ([], NOT_AN_ADDRESS, False),
    (["203.0.113.0/24"], INSIDE, True),
    (["203.0.113.0/24"], OUTSIDE, False),
    (["203.0.113."], f"::ffff:{INSIDE}", True),
    ([f"::ffff:{INSIDE}"], INSIDE, True),
    ([f"::ffff:{INSIDE}"], f"::ffff:{INSIDE}", True),
    (["2001:db8::/48"], INSIDE, False),
    (["10."], NOT_AN_ADDRESS, False),
]


@pytest.mark.parametrize(("entries", "address", "allowed"), CASES)
def test_login_every_request_tokens_and_check_access_give_one_answer(
    live_server, password, manage, entries, address, allowed
):
    user = whitelisted(*entries, role="administrator")
    assert address_decision(address, user.ip_whitelist).allowed is allowed

    login = from_address(live_server, address)
    assert (sign_in(login, user, password).status == 302) is allowed

    session = from_address(live_server, address).signed_in_as(user)
    assert (session.request("GET", "/healthz").status == 200) is allowed
    assert (session.request("GET", "/settings/users/").status == 200) is allowed

    token = {"Authorization": f"Bearer {make_token(user)}"}
    api = from_address(live_server, address).request("GET", "/api/cp/customer", headers=token)
    assert (api.status == 200) is allowed

    checked = manage("check_access", user.email, "customer", "read", "--ip", address)
    if address == NOT_AN_ADDRESS:
        assert checked.status == 2  # not an address: a bad argument, said so
    else:
        assert checked.status == (0 if allowed else 3)
