"""The WebAuthn relying party (passkeys, ``accounts.passkeys``): its id and the origins a
passkey ceremony may come from, checked strictly.

The settings call ``relying_party`` at start-up, so a wrong value stops the panel with a
message naming it; ``accounts.passkeys`` calls it again at run time because, with
nothing set, both are derived from ``PANEL_URL`` (the id is its host name, the one
origin its scheme, host and port). Imports only the standard library and Django.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

BAD_ORIGIN = (
    "WEBAUTHN_ORIGINS: {origin!r} is not an origin; give scheme and host (and a port if "
    "not the default), without a path, e.g. https://panel.example.com."
)
NOT_HTTPS = (
    "WEBAUTHN_ORIGINS: {origin!r} is not https; browsers offer passkeys only to secure "
    "origins, and production settings accept https only."
)
BAD_RP_ID = (
    "WEBAUTHN_RP_ID: {rp_id!r} must be a host name without scheme, port or path (an IP "
    "address is not allowed by browsers), e.g. panel.example.com or example.com."
)
RP_ID_NOT_SUFFIX = (
    "WEBAUTHN_RP_ID: {rp_id!r} is neither the host of the origin {origin!r} nor a domain it "
    "belongs to; browsers would refuse every passkey there. Set WEBAUTHN_RP_ID to that host "
    "or a parent domain of it, or correct WEBAUTHN_ORIGINS."
)


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]


def _origin(value: str, *, require_https: bool) -> tuple[str, str]:
    """``(origin as compared, host)``; the origin is normalised as browsers send it."""
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ImproperlyConfigured(BAD_ORIGIN.format(origin=value))
    if require_https and parts.scheme != "https":
        raise ImproperlyConfigured(NOT_HTTPS.format(origin=value))
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(BAD_ORIGIN.format(origin=value)) from None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    shown = f"[{host}]" if ":" in host else host
    origin = f"{parts.scheme}://{shown}" + (f":{port}" if port and port != default else "")
    return origin, host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def relying_party(
    *, panel_url: str, rp_id: str = "", origins=(), name: str = "", require_https: bool = False
) -> RelyingParty | None:
    """The relying party, or ImproperlyConfigured naming the setting that is wrong.
    Empty ``rp_id`` / ``origins`` are derived from ``panel_url``; None when nothing is
    set and ``panel_url`` names an IP address (browsers accept no IP address as a
    relying-party id, so passkeys are not offered there)."""
    origins = [origin for origin in origins if origin and origin.strip()]
    if not origins and not rp_id:
        parts = urlsplit(panel_url)
        if not parts.hostname or _is_ip(parts.hostname):
            return None  # reached by address only: browsers offer no passkeys there
    if not origins:
        parts = urlsplit(panel_url)
        origins = [f"{parts.scheme}://{parts.netloc}"]
    checked = [_origin(origin, require_https=require_https) for origin in origins]
    if not rp_id:
        rp_id = checked[0][1]
    rp_id = rp_id.strip().lower()
    if not rp_id or _is_ip(rp_id) or any(c in rp_id for c in "/:@ ") or rp_id.startswith("."):
        raise ImproperlyConfigured(BAD_RP_ID.format(rp_id=rp_id))
    for origin, host in checked:
        if host != rp_id and not host.endswith("." + rp_id):
            raise ImproperlyConfigured(RP_ID_NOT_SUFFIX.format(rp_id=rp_id, origin=origin))
    return RelyingParty(
        id=rp_id,
        name=name or "Control Panel",
        origins=tuple(dict.fromkeys(origin for origin, _ in checked)),
    )
