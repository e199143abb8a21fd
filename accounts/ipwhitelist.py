"""IP whitelist entries: parse, validate, match (ACCESS_MODEL.md, IP whitelist).

Accepted forms: a single address (``1.1.1.1``, ``2001:db8::1``); a wildcard prefix of one
to three whole IPv4 octets ending in a dot, with or without ``*`` (``10.``, ``1.1.1.``,
``1.1.1.*``), meaning that prefix's /8, /16 or /24; CIDR (``1.1.1.0/31``,
``2001:db8::/48``). A user's whitelist is stored as a list of ``{"entry": as typed,
"network": normalised CIDR}``; matching only reads the normalised networks.

IPv4-mapped IPv6 (``::ffff:1.1.1.1``) is IPv4 on both sides: an entry written so is
stored in its IPv4 form, and a client so addressed matches IPv4 entries.

``address_decision`` is the one answer to "may a client at this address use this
account": the login (both steps), the access middleware on every request (public pages
included), API tokens and ``check_access --ip`` all ask it. An address that cannot be
determined (none, or not an address) is refused whatever the whitelist, empty included.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError

from controlpanel.kit.client_ip import IPAddress, parse_client_address

VALID_FORMS = "1.1.1.1, 1.1.1., 1.1.1.*, 1.1.1.0/24, 2001:db8::1 or 2001:db8::/48"

_WILDCARD = re.compile(r"^(\d{1,3}\.){1,3}\*?$")
_DOTTED_DIGITS = re.compile(r"^\d+(\.\d+)*\.?\*?$")

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
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
        text = str(address)  # stored in its IPv4 form
    return WhitelistEntry(text, str(ipaddress.ip_network(address)))


def _ipv4_form(network: IPNetwork) -> IPNetwork:
    """An IPv4-mapped IPv6 network (inside ``::ffff:0:0/96``) as the IPv4 network it means;
    any other network unchanged."""
    if (
        isinstance(network, ipaddress.IPv6Network)
        and network.prefixlen >= 96
        and network.network_address.ipv4_mapped is not None
    ):
        return ipaddress.IPv4Network((network.network_address.ipv4_mapped, network.prefixlen - 96))
    return network


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
    mapped = _ipv4_form(network)
    if mapped is not network:
        return WhitelistEntry(str(mapped), str(mapped))  # stored in its IPv4 form
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
    # _ipv4_form also mends entries stored in IPv6-mapped form before they were refused.
    return tuple(_ipv4_form(ipaddress.ip_network(n)) for n in normalised)


UNDETERMINED = "the client address could not be determined, so no account may be used from it"


@dataclass(frozen=True)
class AddressDecision:
    allowed: bool
    reason: str  # one line, for the audit log and check_access


def _matching_entry(client: IPAddress, whitelist) -> dict | None:
    networks = _networks(tuple(item["network"] for item in whitelist))
    for item, network in zip(whitelist, networks, strict=True):
        if client.version == network.version and client in network:
            return item
    return None


def address_decision(address: str | None, whitelist) -> AddressDecision:
    """May a client at ``address`` use an account with this stored whitelist, and why.

    Fail closed: an unknown or malformed address is refused even when the whitelist is
    empty (ACCESS_MODEL.md: it is treated the same at login and on every request, and
    SECURITY_NOTES: refuse what cannot be determined). Otherwise an empty whitelist
    allows any address, and a non-empty one needs a matching entry."""
    client = parse_client_address(address)
    if client is None:
        return AddressDecision(False, UNDETERMINED)
    if not whitelist:
        return AddressDecision(True, f"empty, so any address may sign in ({address} included)")
    item = _matching_entry(client, whitelist)
    if item is None:
        entries = ", ".join(typed_entries(whitelist))
        return AddressDecision(False, f"{address} not in whitelist (entries: {entries})")
    shown = item["entry"]
    if shown != item["network"]:
        shown = f"{shown} (= {item['network']})"
    return AddressDecision(True, f"{address} matches {shown}")


def ip_allowed(address: str | None, whitelist) -> bool:
    """``address_decision(address, whitelist).allowed``, without composing the reason:
    the check every request makes."""
    client = parse_client_address(address)
    if client is None:
        return False
    return not whitelist or _matching_entry(client, whitelist) is not None
