"""IP whitelist entries: parse, validate, match (ACCESS_MODEL.md, IP whitelist).

Accepted forms: a single address (``1.1.1.1``, ``2001:db8::1``); a wildcard prefix of one
to three whole IPv4 octets ending in a dot, with or without ``*`` (``10.``, ``1.1.1.``,
``1.1.1.*``), meaning that prefix's /8, /16 or /24; CIDR (``1.1.1.0/31``,
``2001:db8::/48``). A user's whitelist is stored as a list of ``{"entry": as typed,
"network": normalised CIDR}``; matching only reads the normalised networks.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError

VALID_FORMS = "1.1.1.1, 1.1.1., 1.1.1.*, 1.1.1.0/24, 2001:db8::1 or 2001:db8::/48"

_WILDCARD = re.compile(r"^(\d{1,3}\.){1,3}\*?$")
_DOTTED_DIGITS = re.compile(r"^\d+(\.\d+)*\.?\*?$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WhitelistEntry:
    entry: str  # as the administrator typed it (trimmed)
    network: str  # normalised CIDR

    def as_json(self) -> dict[str, str]:
        return {"entry": self.entry, "network": self.network}


def _invalid(message: str, **params) -> ValidationError:
    return ValidationError(message, code="invalid_ip_entry", params=params)


def _check_octets(text: str, octets: list[str]) -> None:
    for octet in octets:
        if int(octet) > 255:
            raise _invalid(
                "%(entry)s: %(octet)s is not a valid octet (0 to 255). Valid forms: %(forms)s.",
                entry=text,
                octet=octet,
                forms=VALID_FORMS,
            )
        if len(octet) > 1 and octet.startswith("0"):
            raise _invalid(
                "%(entry)s: octet %(octet)s has a leading zero; write it without. "
                "Valid forms: %(forms)s.",
                entry=text,
                octet=octet,
                forms=VALID_FORMS,
            )


def parse_entry(raw: str) -> WhitelistEntry:
    """One entry, or a ValidationError that names what is wrong and shows a valid form."""
    text = (raw or "").strip()
    if not text:
        raise _invalid("An entry is empty. Valid forms: %(forms)s.", forms=VALID_FORMS)
    if "/" in text:
        return _parse_cidr(text)
    if _WILDCARD.match(text) and (text.endswith(".") or text.endswith(".*")):
        octets = text.rstrip("*").rstrip(".").split(".")
        _check_octets(text, octets)
        prefix = ".".join(octets + ["0"] * (4 - len(octets)))
        return WhitelistEntry(text, f"{prefix}/{8 * len(octets)}")
    if _DOTTED_DIGITS.match(text):
        octets = text.rstrip("*").rstrip(".").split(".")
        if len(octets) < 4 and not text.endswith((".", "*")):
            raise _invalid(
                "%(entry)s is ambiguous: write %(entry)s. for the whole prefix, or a full "
                "address such as %(example)s.",
                entry=text,
                example=".".join(octets + ["1"] * (4 - len(octets))),
            )
        if len(octets) == 4 and not text.endswith((".", "*")):
            _check_octets(text, octets)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _invalid(
            "%(entry)s is not an IP address, wildcard prefix or CIDR. Valid forms: %(forms)s.",
            entry=text,
            forms=VALID_FORMS,
        ) from None
    return WhitelistEntry(text, str(ipaddress.ip_network(address)))


def _parse_cidr(text: str) -> WhitelistEntry:
    address_part, _, prefix_part = text.partition("/")
    try:
        address = ipaddress.ip_address(address_part)
    except ValueError:
        raise _invalid(
            "%(entry)s: %(address)s is not a valid IP address. Valid forms: %(forms)s.",
            entry=text,
            address=address_part,
            forms=VALID_FORMS,
        ) from None
    limit = address.max_prefixlen
    if not prefix_part.isdigit() or not 0 <= int(prefix_part) <= limit:
        raise _invalid(
            "%(entry)s: the prefix length must be a number from 0 to %(limit)s.",
            entry=text,
            limit=limit,
        )
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        meant = ipaddress.ip_network(text, strict=False)
        raise _invalid(
            "%(entry)s has host bits set: did you mean the network %(meant)s, or the single "
            "address %(address)s?",
            entry=text,
            meant=str(meant),
            address=address_part,
        ) from None
    return WhitelistEntry(text, str(network))


def parse_whitelist(lines) -> list[WhitelistEntry]:
    """Every entry, or one ValidationError listing every bad line (nothing half-accepted)."""
    entries: list[WhitelistEntry] = []
    errors: list[ValidationError] = []
    seen: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        try:
            entry = parse_entry(line)
        except ValidationError as error:
            errors.append(
                ValidationError(f"Line {number}: {error.messages[0]}", code="invalid_ip_entry")
            )
            continue
        if entry.network in seen:
            errors.append(
                ValidationError(
                    f"Line {number}: {entry.entry} duplicates {seen[entry.network]} "
                    f"(both mean {entry.network}); keep one.",
                    code="duplicate_ip_entry",
                )
            )
            continue
        seen[entry.network] = entry.entry
        entries.append(entry)
    if errors:
        raise ValidationError(errors)
    return entries


def stored_whitelist(entries: list[WhitelistEntry]) -> list[dict[str, str]]:
    return [entry.as_json() for entry in entries]


def typed_entries(stored) -> list[str]:
    """The entries as the administrator typed them, for forms and export."""
    return [item["entry"] for item in stored or []]


@lru_cache(maxsize=4096)
def _networks(normalised: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n) for n in normalised)


def parse_client_address(address: str | None) -> IPAddress | None:
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def ip_allowed(address: str | None, whitelist) -> bool:
    """Whether ``address`` may use an account with this stored whitelist.

    An empty whitelist allows any address; an unknown or malformed address is refused
    whenever there is a whitelist."""
    if not whitelist:
        return True
    client = parse_client_address(address)
    if client is None:
        return False
    networks = _networks(tuple(item["network"] for item in whitelist))
    return any(client.version == net.version and client in net for net in networks)
