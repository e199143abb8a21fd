"""The business world the area tests tell stories about: two resellers (Acme Telecom,
the cast's reseller, and Bluewave Telecom), each with one row in every area, plus users
whose groups grant exactly what a test needs."""

from dataclasses import dataclass

import pytest

from controlpanel.kit.areas import ACTIONS, mask_of
from permissions.models import Rule
from tests.factories import GroupFactory, ResellerFactory, UserFactory

from .factories import (
    CallRecordFactory,
    CarrierFactory,
    ContactFactory,
    CustomerFactory,
    InvoiceFactory,
    RateCardFactory,
    RouteFactory,
    TicketFactory,
)

# The attribute of a `Side` that holds each area's row.
ROW_OF_AREA = {
    "customer": "customer",
    "contact": "contact",
    "carrier": "carrier",
    "card": "card",
    "routing": "route",
    "billing": "invoice",
    "cdr": "cdr",
    "support-ticket": "ticket",
}
SCOPED_AREAS = [key for key in ROW_OF_AREA if key != "carrier"]


@dataclass
class Side:
    """One reseller's rows (or the operator's own, for reseller None)."""

    reseller: object
    customer: object
    contact: object
    carrier: object
    card: object
    route: object
    invoice: object
    cdr: object
    ticket: object

    def row(self, area: str):
        return getattr(self, ROW_OF_AREA[area])


def _side(reseller, label: str) -> Side:
    customer = CustomerFactory(name=f"{label} Customer", reseller=reseller)
    carrier = CarrierFactory(name=f"{label} Carrier")
    card = RateCardFactory(name=f"{label} Card", reseller=reseller)
    raiser = UserFactory(
        email=f"raiser@{label.lower()}.example", reseller=reseller, shared_ticket=True
    )
    return Side(
        reseller=reseller,
        customer=customer,
        contact=ContactFactory(name=f"{label} Contact", customer=customer),
        carrier=carrier,
        card=card,
        route=RouteFactory(customer=customer, carrier=carrier, rate_card=card, prefix="3491"),
        invoice=InvoiceFactory(customer=customer, number=f"INV-{label.upper()}-1"),
        cdr=CallRecordFactory(customer=customer, caller="34911234567"),
        ticket=TicketFactory(customer=customer, subject=f"{label} ticket", raised_by=raiser),
    )


@pytest.fixture
def other_reseller(db):
    return ResellerFactory(name="Bluewave Telecom")


@pytest.fixture
def mine(reseller) -> Side:
    """Acme Telecom's rows (the cast's reseller)."""
    return _side(reseller, "Acme")


@pytest.fixture
def theirs(other_reseller) -> Side:
    """Bluewave Telecom's rows: another reseller's."""
    return _side(other_reseller, "Bluewave")


@pytest.fixture
def member(db):
    """A user whose one group allows exactly ``allow`` ({area: actions}); with no
    ``allow``, a group whose defaults grant every action on every area."""

    def make(*, allow=None, reseller=None, email=None, shared_ticket=False):
        group = GroupFactory(defaults=mask_of(ACTIONS))
        for area, actions in (allow or {}).items():
            Rule.objects.create(group=group, area=area, actions=mask_of(actions))
        extra = {"email": email} if email else {}
        return UserFactory(groups=[group], reseller=reseller, shared_ticket=shared_ticket, **extra)

    return make


@pytest.fixture
def reseller_manager(member, reseller):
    """Acme Telecom's user with every action on every area (rows stay Acme's)."""
    return member(reseller=reseller, email="rosa@acme.example")


@pytest.fixture
def manager(member):
    """A staff user (no reseller) with every action on every area."""
    return member(email="max@example.com")
