"""Shared tickets: a user sees the tickets they raised and those raised by users whose
Shared Ticket flag is on, within their reseller scope; administrators see all."""

import pytest
from django.urls import reverse

from controlpanel.areas.models import Ticket, TicketReply
from controlpanel.audit.models import AuditEntry
from tests.factories import UserFactory

from .factories import CustomerFactory, TicketFactory, TicketReplyFactory


@pytest.fixture
def acme_customer(reseller):
    return CustomerFactory(name="Acme Customer", reseller=reseller)


@pytest.fixture
def bluewave_customer(other_reseller):
    return CustomerFactory(name="Bluewave Customer", reseller=other_reseller)


def _visible(client, ticket) -> bool:
    listed = (
        reverse("support-ticket-detail", args=[ticket.pk])
        in client.get(reverse("support-ticket-list")).content.decode()
    )
    status = client.get(reverse("support-ticket-detail", args=[ticket.pk])).status_code
    assert listed == (status == 200), "the list and the detail page disagree"
    return listed


def test_a_user_sees_the_tickets_they_raised(client_as, member, acme_customer):
    agent = member(allow={"support-ticket": ["read"]})
    own = TicketFactory(customer=acme_customer, raised_by=agent)

    assert _visible(client_as(agent), own)


def test_a_user_does_not_see_tickets_raised_by_someone_who_does_not_share(
    client_as, member, acme_customer
):
    agent = member(allow={"support-ticket": ["read"]})
    private = TicketFactory(customer=acme_customer, raised_by=UserFactory(shared_ticket=False))

    assert not _visible(client_as(agent), private)


def test_a_user_sees_tickets_raised_by_someone_who_shares(client_as, member, acme_customer):
    agent = member(allow={"support-ticket": ["read"]})
    shared = TicketFactory(customer=acme_customer, raised_by=UserFactory(shared_ticket=True))

    assert _visible(client_as(agent), shared)


def test_shared_tickets_stay_within_the_reseller_scope(
    client_as, member, reseller, other_reseller, acme_customer, bluewave_customer
):
    rita = member(allow={"support-ticket": ["read"]}, reseller=reseller)
    sharer_at_bluewave = UserFactory(reseller=other_reseller, shared_ticket=True)
    sharer_at_acme = UserFactory(reseller=reseller, shared_ticket=True)
    theirs = TicketFactory(customer=bluewave_customer, raised_by=sharer_at_bluewave)
    ours = TicketFactory(customer=acme_customer, raised_by=sharer_at_acme)
    client = client_as(rita)

    assert _visible(client, ours)
    assert not _visible(client, theirs)


def test_administrators_see_every_ticket(client_as, admin, acme_customer, bluewave_customer):
    private = TicketFactory(customer=acme_customer, raised_by=UserFactory(shared_ticket=False))
    other = TicketFactory(customer=bluewave_customer, raised_by=UserFactory(shared_ticket=False))
    client = client_as(admin)

    assert _visible(client, private)
    assert _visible(client, other)


def test_a_ticket_someone_does_not_share_cannot_be_edited_by_others(
    client_as, member, acme_customer
):
    agent = member(allow={"support-ticket": ["read", "update", "delete"]})
    private = TicketFactory(customer=acme_customer, raised_by=UserFactory(shared_ticket=False))
    client = client_as(agent)

    assert client.get(reverse("support-ticket-update", args=[private.pk])).status_code == 404
    assert client.post(reverse("support-ticket-delete", args=[private.pk])).status_code == 404
    assert Ticket.objects.filter(pk=private.pk).exists()


def test_replies_are_shown_on_the_ticket(client_as, admin, acme_customer):
    ticket = TicketFactory(customer=acme_customer)
    TicketReplyFactory(ticket=ticket, body="Traced to the Madrid trunk; fixed.")

    page = client_as(admin).get(reverse("support-ticket-detail", args=[ticket.pk]))

    assert "Traced to the Madrid trunk; fixed." in page.content.decode()


def test_a_reply_is_added_by_a_user_who_may_update_tickets(client_as, member, acme_customer):
    agent = member(allow={"support-ticket": ["read", "update"]})
    ticket = TicketFactory(customer=acme_customer, raised_by=agent)
    client = client_as(agent)
    detail = client.get(reverse("support-ticket-detail", args=[ticket.pk])).content.decode()

    response = client.post(
        reverse("support-ticket-reply-create", args=[ticket.pk]), {"body": "Any update?"}
    )

    assert reverse("support-ticket-reply-create", args=[ticket.pk]) in detail
    assert response.status_code == 302
    reply = TicketReply.objects.get(ticket=ticket)
    assert (reply.author, reply.body) == (agent, "Any update?")
    assert AuditEntry.objects.filter(action="create", object_type="ticketreply").exists()


def test_replying_needs_update_on_tickets(client_as, member, acme_customer):
    reader = member(allow={"support-ticket": ["read", "create"]})
    ticket = TicketFactory(customer=acme_customer, raised_by=reader)
    client = client_as(reader)
    detail = client.get(reverse("support-ticket-detail", args=[ticket.pk])).content.decode()

    response = client.post(
        reverse("support-ticket-reply-create", args=[ticket.pk]), {"body": "Hello?"}
    )

    assert reverse("support-ticket-reply-create", args=[ticket.pk]) not in detail
    assert response.status_code == 403
    assert not TicketReply.objects.exists()


def test_an_empty_reply_is_refused_with_a_message(client_as, admin, acme_customer):
    ticket = TicketFactory(customer=acme_customer)

    response = client_as(admin).post(
        reverse("support-ticket-reply-create", args=[ticket.pk]), {"body": "  "}
    )

    assert "Reply: This field is required." in response.content.decode()
    assert not TicketReply.objects.exists()


def test_a_reply_to_a_ticket_out_of_scope_is_not_found(
    client_as, member, reseller, bluewave_customer
):
    rita = member(allow={"support-ticket": ["read", "update"]}, reseller=reseller)
    ticket = TicketFactory(customer=bluewave_customer, raised_by=UserFactory(shared_ticket=True))

    response = client_as(rita).post(
        reverse("support-ticket-reply-create", args=[ticket.pk]), {"body": "Hi"}
    )

    assert response.status_code == 404
    assert not TicketReply.objects.exists()
