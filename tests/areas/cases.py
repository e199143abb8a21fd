"""What each area's create and edit forms need, for tests parametrised over areas."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AreaCase:
    key: str
    prefix: str  # the URL prefix of the area's pages
    # Valid create form data, given a `Side` whose rows it may refer to.
    create_data: Any
    # The created row is found by this field and value.
    lookup: tuple[str, str]
    # An edit: the field changed and its new value.
    change: tuple[str, str]


CASES = [
    AreaCase(
        "customer",
        "customers",
        lambda side: {
            "name": "Globex Voice",
            "reseller": side.reseller.pk if side and side.reseller else "",
            "status": "active",
            "credit_limit": "500.00",
            "balance": "-12.50",
        },
        ("name", "Globex Voice"),
        ("name", "Globex Voice Ltd"),
    ),
    AreaCase(
        "contact",
        "contacts",
        lambda side: {
            "customer": side.customer.pk,
            "name": "Grace Hopper",
            "email": "grace@globex.example",
            "phone": "+1 202 555 0100",
            "role": "technical",
        },
        ("email", "grace@globex.example"),
        ("name", "Grace B. Hopper"),
    ),
    AreaCase(
        "carrier",
        "carriers",
        lambda side: {
            "name": "Zenith Wholesale",
            "status": "testing",
            "contact_email": "noc@zenith.example",
        },
        ("name", "Zenith Wholesale"),
        ("status", "active"),
    ),
    AreaCase(
        "card",
        "rate-cards",
        lambda side: {
            "name": "Retail EUR",
            "currency": "EUR",
            "direction": "outbound",
            "reseller": side.reseller.pk if side and side.reseller else "",
        },
        ("name", "Retail EUR"),
        ("currency", "GBP"),
    ),
    AreaCase(
        "routing",
        "routes",
        lambda side: {
            "customer": side.customer.pk,
            "prefix": "4420",
            "carrier": side.carrier.pk,
            "rate_card": side.card.pk,
            "priority": "2",
        },
        ("prefix", "4420"),
        ("priority", "5"),
    ),
    AreaCase(
        "billing",
        "billing",
        lambda side: {
            "customer": side.customer.pk,
            "number": "INV-2026-0042",
            "issue_date": "2026-03-01",
            "amount": "1234.56",
            "currency": "USD",
            "status": "issued",
        },
        ("number", "INV-2026-0042"),
        ("status", "void"),
    ),
    AreaCase(
        "support-ticket",
        "support-tickets",
        lambda side: {
            "customer": side.customer.pk,
            "subject": "No audio on calls to Madrid",
            "body": "Since 09:00 UTC calls to +3491 connect without audio.",
            "status": "open",
        },
        ("subject", "No audio on calls to Madrid"),
        ("status", "closed"),
    ),
]

CASE_IDS = [case.key for case in CASES]
