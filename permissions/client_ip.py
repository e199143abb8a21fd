"""The one function that decides a request's client address.

The whitelist, the login lockout and the audit log all call ``client_ip``. With no
proxy configured only the socket address (REMOTE_ADDR) counts. With a proxy configured
(``CLIENT_IP_HEADER``, ``TRUSTED_PROXY_COUNT``, ``TRUSTED_PROXY_NETWORKS``), the header is
read only when the socket peer is one of the trusted proxy networks (matched with
``ipaddress``, never by string prefix), and the client is the hop that the nearest
trusted proxy appended, so forged left-most hops are ignored. See docs/deployment.md and
shared SECURITY_NOTES for why ipware's defaults are not used.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from ipware import get_client_ip

from .ipwhitelist import parse_client_address


@lru_cache(maxsize=8)
def _trusted_networks(networks: tuple[str, ...]):
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def _from_trusted_proxy(peer) -> bool:
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    if not networks:
        return True
    return any(peer.version == net.version and peer in net for net in networks)


def client_ip(request) -> str | None:
    """The client's address as a string, or None when it cannot be determined."""
    cached = getattr(request, "_client_ip", False)
    if cached is not False:
        return cached
    address = _decide(request)
    request._client_ip = address
    return address


def _decide(request) -> str | None:
    peer = parse_client_address(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    header = settings.CLIENT_IP_HEADER
    count = settings.TRUSTED_PROXY_COUNT
    if not header or count < 1 or not _from_trusted_proxy(peer):
        return str(peer)
    # ipware counts the proxies listed inside the header; the nearest proxy is the socket
    # peer and is not listed, hence count - 1. Non-strict: a client may prepend forged
    # hops, which only lengthen the chain on the untrusted (left) side.
    address, _routable = get_client_ip(
        request,
        proxy_order="left-most",
        proxy_count=count - 1,
        request_header_order=[header],
        strict=False,
    )
    parsed = parse_client_address(address)
    return str(parsed) if parsed is not None else None
