import ipaddress

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.ipwhitelist import ip_allowed, parse_entry, parse_whitelist, stored_whitelist


def allowed(address, *entries):
    return ip_allowed(address, stored_whitelist(parse_whitelist(entries)))


@pytest.mark.parametrize(
    ("entry", "network"),
    [
        ("1.1.1.1", "1.1.1.1/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("1.1.1.", "1.1.1.0/24"),
        ("1.1.1.*", "1.1.1.0/24"),
        ("10.", "10.0.0.0/8"),
        ("10.*", "10.0.0.0/8"),
        ("172.16.", "172.16.0.0/16"),
        ("1.1.1.0/31", "1.1.1.0/31"),
        ("2001:DB8::/48", "2001:db8::/48"),
        ("  192.168.0.0/24 ", "192.168.0.0/24"),
    ],
)
def test_every_accepted_form_is_normalised_and_kept_as_typed(entry, network):
    parsed = parse_entry(entry)
    assert parsed.network == network
    assert parsed.entry == entry.strip()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("1.1.1", "1.1.1 is ambiguous: write 1.1.1. for the whole prefix"),
        ("1.1.1.1/33", "the prefix length must be a number from 0 to 32"),
        ("300.1.1.1", "300 is not a valid octet (0 to 255)"),
        ("1.1.1.1/24", "host bits set: did you mean the network 1.1.1.0/24"),
        ("", "An entry is empty"),
        ("   ", "An entry is empty"),
        ("hello", "hello is not an IP address, wildcard prefix or CIDR"),
        ("1.1.1.1.", "is not an IP address, wildcard prefix or CIDR"),
        ("1.1.*.1", "is not an IP address, wildcard prefix or CIDR"),
        ("2001:db8::/129", "from 0 to 128"),
        ("01.1.1.1", "leading zero"),
        ("999./8", "999. is not a valid IP address"),
    ],
)
def test_bad_entries_say_what_is_wrong_and_show_a_valid_form(entry, message):
    with pytest.raises(ValidationError) as error:
        parse_entry(entry)
    text = error.value.messages[0]
    assert message in text
    if "ambiguous" not in text and "host bits" not in text and "prefix length" not in text:
        assert "1.1.1.0/24" in text  # a valid form is shown


def test_a_list_with_bad_lines_reports_each_and_accepts_none():
    with pytest.raises(ValidationError) as error:
        parse_whitelist(["1.1.1.1", "1.1.1", "10.", "10.0.0.0/8", "nope"])
    messages = error.value.messages
    assert len(messages) == 3
    assert messages[0].startswith("Line 2: 1.1.1 is ambiguous")
    assert messages[1].startswith("Line 4: 10.0.0.0/8 duplicates 10.")
    assert messages[2].startswith("Line 5: nope")


def test_prefix_matches_whole_octets_only():
    assert allowed("1.1.1.200", "1.1.1.")
    assert not allowed("1.1.10.5", "1.1.1.")
    assert not allowed("1.1.11.5", "1.1.1.*")


def test_empty_whitelist_allows_any_address_and_an_unknown_address_is_always_refused():
    assert ip_allowed("203.0.113.5", [])
    assert not ip_allowed(None, [])  # fail closed: the same at login and on every request
    assert not ip_allowed("unknown", [])
    assert not allowed(None, "10.")
    assert not allowed("not-an-ip", "10.")


def test_ipv4_mapped_ipv6_client_matches_ipv4_entries():
    assert allowed("::ffff:1.1.1.1", "1.1.1.1")
    assert allowed("::ffff:10.2.3.4", "10.")
    assert not allowed("::ffff:11.2.3.4", "10.")


def test_ipv6_client_matches_ipv6_cidr_only():
    assert allowed("2001:db8:0:1::5", "2001:db8::/48")
    assert not allowed("2001:db9::5", "2001:db8::/48")
    assert not allowed("2001:db8::5", "10.")


ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


@st.composite
def entries(draw):
    """An entry of any accepted form, and the network it means (the reference)."""
    kind = draw(st.sampled_from(["v4", "v6", "wild", "wildstar", "cidr4", "cidr6"]))
    if kind == "v4":
        a = draw(ipv4)
        return str(a), ipaddress.ip_network(a)
    if kind == "v6":
        a = draw(ipv6)
        return str(a), ipaddress.ip_network(a)
    if kind in ("wild", "wildstar"):
        octets = draw(st.integers(1, 3))
        a = draw(ipv4)
        prefix = ".".join(str(a).split(".")[:octets]) + "."
        net = ipaddress.ip_network(f"{a}/{8 * octets}", strict=False)
        return (prefix + "*" if kind == "wildstar" else prefix), net
    if kind == "cidr4":
        net = ipaddress.ip_network(f"{draw(ipv4)}/{draw(st.integers(0, 32))}", strict=False)
        return str(net), net
    net = ipaddress.ip_network(f"{draw(ipv6)}/{draw(st.integers(0, 128))}", strict=False)
    return str(net), net


@given(st.lists(entries(), min_size=1, max_size=4), st.one_of(ipv4, ipv6), st.booleans())
def test_matcher_agrees_with_an_ipaddress_reference(pairs, client, mapped):
    networks = []
    typed = []
    for text, net in pairs:
        if net in networks:
            continue
        networks.append(net)
        typed.append(text)
    expected = any(client.version == n.version and client in n for n in networks)
    address = str(client)
    if mapped and client.version == 4:
        address = f"::ffff:{client}"
    assert allowed(address, *typed) == expected


@given(entries(), st.integers(0, 255))
def test_addresses_inside_an_entry_match(pair, last):
    text, net = pair
    inside = net.network_address + min(last, net.num_addresses - 1)
    assert allowed(str(inside), text)
