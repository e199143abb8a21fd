"""The pages a person reaches in the panel, for the layout and accessibility walks: a small
world with one row in every area (long names included), and the list of pages an
administrator, a limited user and a visitor who is not signed in can open."""

from dataclasses import dataclass

from controlpanel.kit.areas import mask_of
from controlpanel.outbox.models import OutboxMessage, OutboxState
from permissions.models import Effect, Rule
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

# 150 characters without a space: the longest user and group name the panel accepts.
LONG = "W" + "x" * 148 + "Z"


@dataclass
class World:
    reseller: object
    group: object
    rule: object
    member: object
    customer: object
    contact: object
    carrier: object
    card: object
    route: object
    invoice: object
    cdr: object
    ticket: object


def build_world(raiser) -> World:
    """One row in every area, a reseller, a group and a user whose names are 150
    characters without a space."""
    reseller = ResellerFactory(name=f"Reseller{LONG}")
    group = GroupFactory(name=LONG)
    rule = Rule.objects.create(
        group=group, area="customer", actions=mask_of(["read"]), effect=Effect.ALLOW
    )
    member = UserFactory(email="longname@example.com", name=LONG, reseller=reseller, groups=[group])
    customer = CustomerFactory(name=f"Customer{LONG}", reseller=reseller)
    carrier = CarrierFactory(name=f"Carrier{LONG}")
    card = RateCardFactory(name="Standard rates")
    OutboxMessage.objects.create(  # a failed mail: its long subject and error must wrap
        kind="low_balance_alert",
        to="longname@example.com",
        subject=f"Low balance: Customer{LONG}"[:255],
        body="",
        state=OutboxState.FAILED,
        attempts=10,
        last_error=f"SMTPConnectError: {LONG}",
        reseller=reseller,
    )
    return World(
        reseller=reseller,
        group=group,
        rule=rule,
        member=member,
        customer=customer,
        contact=ContactFactory(name="Carla Contact", customer=customer),
        carrier=carrier,
        card=card,
        route=RouteFactory(customer=customer, carrier=carrier, rate_card=card, prefix="3491"),
        invoice=InvoiceFactory(customer=customer, number="INV-00042"),
        cdr=CallRecordFactory(customer=customer, caller="34911234567"),
        ticket=TicketFactory(customer=customer, subject="Calls fail", raised_by=raiser),
    )


AREA_ROWS = {
    "customers": "customer",
    "contacts": "contact",
    "carriers": "carrier",
    "rate-cards": "card",
    "routes": "route",
    "billing": "invoice",
    "support-tickets": "ticket",
}


def admin_pages(world: World) -> list[str]:
    """Every kind of page an administrator opens (one of each list, detail and form)."""
    pages = ["/"]
    for prefix, row in AREA_ROWS.items():
        pk = getattr(world, row).pk
        pages += [f"/{prefix}/", f"/{prefix}/{pk}/", f"/{prefix}/new/", f"/{prefix}/{pk}/edit/"]
    pages += ["/cdrs/", f"/cdrs/{world.cdr.pk}/"]
    user, group, reseller = world.member.pk, world.group.pk, world.reseller.pk
    pages += [
        "/settings/users/",
        "/settings/users/new/",
        f"/settings/users/{user}/",
        f"/settings/users/{user}/edit/",
        f"/settings/users/{user}/password/",
        f"/settings/users/{user}/access/",
        "/settings/groups/",
        "/settings/groups/new/",
        f"/settings/groups/{group}/",
        f"/settings/groups/{group}/edit/",
        f"/settings/groups/{group}/rules/new/",
        f"/settings/groups/{group}/rules/{world.rule.pk}/edit/",
        "/settings/resellers/",
        f"/settings/resellers/{reseller}/",
        f"/settings/resellers/{reseller}/edit/",
        "/settings/audit/",
        "/settings/outbox/",
        "/settings/access-review/",
    ]
    return pages + SELF_SERVICE_PAGES


SELF_SERVICE_PAGES = [
    "/accounts/profile/",
    "/accounts/profile/password/",
    "/accounts/profile/two-factor/",
    "/accounts/profile/two-factor/setup/",
    "/accounts/tokens/",
    "/api/docs",
    "/no-such-page/",
]


def limited_pages(world: World) -> list[str]:
    """What the cast's staff user opens: routes (every action) and carriers (read)."""
    route, carrier = world.route.pk, world.carrier.pk
    return [
        "/",
        "/routes/",
        f"/routes/{route}/",
        "/routes/new/",
        f"/routes/{route}/edit/",
        "/carriers/",
        f"/carriers/{carrier}/",
        "/settings/users/",  # refused: the 403 page
        *SELF_SERVICE_PAGES,
    ]


VISITOR_PAGES = [
    "/accounts/login/",
    "/accounts/password-reset/",
    "/accounts/password-reset/sent/",
    "/no-such-page/",
]
