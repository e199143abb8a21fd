"""The one function that decides a request's client address.

The whitelist, the login lockout and the audit log all call ``client_ip``. With no
proxy configured only the socket address (REMOTE_ADDR) counts. With a proxy configured
(``CLIENT_IP_HEADER``, ``TRUSTED_PROXY_COUNT``, ``TRUSTED_PROXY_NETWORKS``), the header is
read only when the socket peer is one of the trusted proxy networks (matched with
``ipaddress``, never by string prefix), and the client is the hop that the outermost
trusted proxy appended: the ``TRUSTED_PROXY_COUNT``-th from the right. Every hop the
trusted proxies appended must be a plain address; a proxy that appends ``unknown``,
``unix:``, ``_gateway`` or anything else that is not an address makes the client address
unknown (refused), never hands the choice to a hop the client wrote further left. See
docs/deployment.md and shared SECURITY_NOTES for why ipware's parsing is not used: even
non-strict, it skips a hop that is not an address and takes a client-written one.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_client_address(address: str | None) -> IPAddress | None:
    """An address as the panel compares it: a zone index dropped, an IPv4-mapped IPv6
    address in its IPv4 form; None for anything that is not an address."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


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


def proxied_client(header_value: str, proxy_count: int):
    """The client address in a proxy header (``X-Forwarded-For`` form: hops separated by
    commas, each proxy appending the address it received the request from), or None.

    The nearest proxy is the socket peer and is not listed, so the last ``proxy_count``
    hops are the ones the trusted proxies appended, and the left-most of them is the
    client. Hops further left were written by the client and are never read. A header
    with fewer hops, or any of those hops that is not an address, gives None."""
    hops = [hop.strip() for hop in header_value.split(",")]
    if proxy_count < 1 or len(hops) < proxy_count:
        return None
    appended = [parse_client_address(hop) for hop in hops[-proxy_count:]]
    if any(hop is None for hop in appended):
        return None
    return appended[0]


def _decide(request) -> str | None:
    peer = parse_client_address(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    header = settings.CLIENT_IP_HEADER
    count = settings.TRUSTED_PROXY_COUNT
    if not header or count < 1 or not _from_trusted_proxy(peer):
        return str(peer)
    client = proxied_client(request.META.get(header, ""), count)
    return str(client) if client is not None else None
