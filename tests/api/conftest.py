"""The API's cast: the fixed users of tests/conftest.py, each calling the API with a
personal token (or a session), and two resellers' worlds of business rows."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.api_tokens import api_token_create
from permissions.areas import ACTIONS, mask_of
from permissions.models import Rule
from tests.areas.factories import (
    CallRecordFactory,
    CarrierFactory,
    ContactFactory,
    CustomerFactory,
    InvoiceFactory,
    RateCardFactory,
    RouteFactory,
    TicketFactory,
)
from tests.factories import GroupFactory, ResellerFactory, UserFactory

LOCAL = "127.0.0.1"
JSON = "application/json"


class Api:
    """Calls the API as one client: with a bearer token (no cookies), or through a signed-in
    test client's session."""

    def __init__(
        self, token: str | None = None, *, client: Client | None = None, address: str = LOCAL
    ):
        self.token = token
        self.client = client or Client()
        self.address = address

    def call(self, method: str, path: str, data=None, *, content_type=JSON, **extra):
        """``data`` is sent as JSON, or as it is when it is already bytes."""
        headers = {"REMOTE_ADDR": self.address, **extra}
        if self.token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        body = data if isinstance(data, bytes) else "" if data is None else json.dumps(data)
        return self.client.generic(method, path, body, content_type=content_type, **headers)

    def get(self, path, **extra):
        return self.call("GET", path, **extra)

    def post(self, path, data=None, **extra):
        return self.call("POST", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self.call("PUT", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self.call("PATCH", path, data, **extra)

    def delete(self, path, **extra):
        return self.call("DELETE", path, **extra)


def make_token(user, **kwargs) -> str:
    __, raw = api_token_create(user=user, name=kwargs.pop("name", "test"), address=None, **kwargs)
    return raw


@pytest.fixture
def api_as(db):
    """``api_as(user)``: an API client with a fresh personal token of ``user``."""

    def make(user, *, address: str = LOCAL, **token_options) -> Api:
        return Api(make_token(user, **token_options), address=address)

    return make


@pytest.fixture
def member(db):
    """``member(allow={area: [actions]}, reseller=…)``: a user whose one group grants
    exactly ``allow`` (every action on every area when ``allow`` is None)."""

    def make(*, allow=None, reseller=None, email=None):
        group = GroupFactory(defaults=mask_of(ACTIONS))
        for area, actions in (allow or {}).items():
            Rule.objects.create(group=group, area=area, actions=mask_of(actions))
        extra = {"email": email} if email else {}
        return UserFactory(groups=[group], reseller=reseller, **extra)

    return make


@dataclass
class World:
    """One reseller's rows (the operator's own for reseller None), one in every area."""

    reseller: object
    customer: object
    contact: object
    carrier: object
    card: object
    route: object
    invoice: object
    cdr: object
    ticket: object


def build_world(reseller, label: str) -> World:
    customer = CustomerFactory(name=f"{label} Customer", reseller=reseller)
    carrier = CarrierFactory(name=f"{label} Carrier")
    card = RateCardFactory(name=f"{label} Card", reseller=reseller)
    raiser = UserFactory(
        email=f"raiser@{label.lower()}.example", reseller=reseller, shared_ticket=True
    )
    return World(
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
def mine(reseller) -> World:
    """Acme Telecom's rows (the cast's reseller)."""
    return build_world(reseller, "Acme")


@pytest.fixture
def theirs(other_reseller) -> World:
    """Bluewave Telecom's rows: another reseller's."""
    return build_world(other_reseller, "Bluewave")
