"""One function decides the client address; forged headers cannot choose it."""

import pytest
from django.test import RequestFactory

from controlpanel.kit.client_ip import client_ip


def request(remote="198.51.100.7", **headers):
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


FORGED = {
    "HTTP_X_FORWARDED_FOR": "10.1.1.1",
    "HTTP_CLIENT_IP": "10.1.1.2",
    "HTTP_X_REAL_IP": "10.1.1.3",
    "HTTP_FORWARDED": "for=10.1.1.4",
}


def test_with_no_proxy_configured_only_the_socket_address_counts():
    assert client_ip(request(**FORGED)) == "198.51.100.7"


def test_private_socket_address_is_not_swapped_for_a_header():
    assert client_ip(request("10.9.9.9", HTTP_X_FORWARDED_FOR="8.8.8.8")) == "10.9.9.9"


def test_no_socket_address_means_no_address():
    req = request()
    del req.META["REMOTE_ADDR"]
    assert client_ip(req) is None


@pytest.fixture
def behind_nginx(settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32"]


def test_behind_a_trusted_proxy_the_right_most_hop_is_the_client(behind_nginx):
    req = request("127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert client_ip(req) == "203.0.113.50"


def test_a_forged_left_most_hop_is_ignored(behind_nginx):
    req = request("127.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.50")
    assert client_ip(req) == "203.0.113.50"


def test_the_header_is_ignored_when_the_peer_is_not_a_trusted_proxy(behind_nginx):
    req = request("127.0.0.10", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_ip(req) == "127.0.0.10"


def test_trusted_networks_match_as_networks_not_string_prefixes(settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.1"]
    assert client_ip(request("10.0.0.123", HTTP_X_FORWARDED_FOR="1.1.1.1")) == "10.0.0.123"
    assert client_ip(request("10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")) == "1.1.1.1"


def test_two_proxies_take_the_second_hop_from_the_right(settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 2
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]
    req = request("10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.1")
    assert client_ip(req) == "203.0.113.9"


def test_a_trusted_proxy_that_sends_no_header_gives_no_address(behind_nginx):
    assert client_ip(request("127.0.0.1")) is None


def test_other_headers_are_ignored_even_behind_a_proxy(behind_nginx):
    req = request("127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50", HTTP_CLIENT_IP="8.8.8.8")
    assert client_ip(req) == "203.0.113.50"
