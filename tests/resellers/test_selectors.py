"""The one scoping selector, asked directly."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.test.utils import isolate_apps

from accounts.models import User
from controlpanel.areas.models import Contact, Customer, Payment, RateCard, Ticket
from resellers.models import Reseller
from resellers.selectors import reseller_id_of, scoped
from tests.areas.factories import (
    ContactFactory,
    CustomerFactory,
    PaymentFactory,
    RateCardFactory,
    TicketFactory,
)
from tests.factories import AdminFactory, UserFactory


@pytest.fixture
def two_customers(reseller, other_reseller):
    return CustomerFactory(reseller=reseller), CustomerFactory(reseller=other_reseller)


def test_a_reseller_user_gets_their_resellers_rows_through_any_path(reseller_user, two_customers):
    ours, theirs = two_customers
    our_contact, _ = ContactFactory(customer=ours), ContactFactory(customer=theirs)
    our_payment = PaymentFactory(invoice__customer=ours)
    PaymentFactory(invoice__customer=theirs)

    assert list(scoped(Customer, reseller_user)) == [ours]
    assert list(scoped(Contact.objects.all(), reseller_user)) == [our_contact]
    assert list(scoped(Payment, reseller_user)) == [our_payment]


def test_a_user_without_a_reseller_gets_every_row(staff, two_customers):
    assert set(scoped(Customer, staff)) == set(two_customers)


def test_an_administrator_linked_to_a_reseller_is_still_narrowed(reseller, two_customers):
    admin_of_acme = AdminFactory(reseller=reseller)

    assert list(scoped(Customer, admin_of_acme)) == [two_customers[0]]


def test_an_inactive_or_anonymous_user_gets_nothing(staff, two_customers):
    from django.contrib.auth.models import AnonymousUser

    staff.is_active = False

    assert not scoped(Customer, staff).exists()
    assert not scoped(Customer, AnonymousUser()).exists()
    assert not scoped(Customer, None).exists()


def test_rate_cards_are_scoped_by_their_assignment(reseller_user, reseller, other_reseller):
    ours = RateCardFactory(reseller=reseller)
    RateCardFactory(reseller=other_reseller)
    RateCardFactory(reseller=None)

    assert list(scoped(RateCard, reseller_user)) == [ours]


def test_users_are_scoped_to_the_reseller(reseller_user, staff, reseller):
    colleague = UserFactory(reseller=reseller)

    assert set(scoped(User, reseller_user)) == {reseller_user, colleague}


def test_resellers_themselves_are_not_scoped(reseller_user, reseller, other_reseller):
    assert set(scoped(Reseller, reseller_user)) == {reseller, other_reseller}


def test_the_shared_ticket_rule_lives_in_the_selector(staff, admin, reseller):
    customer = CustomerFactory(reseller=None)
    own = TicketFactory(customer=customer, raised_by=staff)
    shared = TicketFactory(customer=customer, raised_by=UserFactory(shared_ticket=True))
    private = TicketFactory(customer=customer, raised_by=UserFactory(shared_ticket=False))

    assert set(scoped(Ticket, staff)) == {own, shared}
    assert set(scoped(Ticket, admin)) == {own, shared, private}


@isolate_apps("controlpanel.areas")
def test_a_model_that_declares_no_path_is_refused(staff):
    class Undeclared(models.Model):
        class Meta:
            app_label = "areas"

        def __str__(self) -> str:
            return "undeclared"

    with pytest.raises(ImproperlyConfigured, match="declares no reseller_path"):
        scoped(Undeclared, staff)


def test_the_reseller_of_a_row_is_found_through_its_path(reseller):
    payment = PaymentFactory(invoice__customer__reseller=reseller)

    assert reseller_id_of(payment) == reseller.pk
    assert reseller_id_of(CustomerFactory(reseller=None)) is None
