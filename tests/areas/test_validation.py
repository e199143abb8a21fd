"""Bad input is refused with a message that names the field and says what is wrong."""

import pytest
from django.urls import reverse

from controlpanel.areas.models import Carrier, Customer

from .cases import CASES
from .factories import CarrierFactory, CustomerFactory, RateCardFactory

CASE_OF = {case.key: case for case in CASES}

BAD_INPUT = [
    ("customer", "credit_limit", "-5", "Credit limit: The credit limit cannot be negative."),
    (
        "customer",
        "credit_limit",
        "1.234",
        "Credit limit: Ensure that there are no more than 2 decimal places.",
    ),
    ("customer", "name", "", "Name: This field is required."),
    ("contact", "email", "grace-at-globex", "E-mail: Enter a valid email address."),
    ("contact", "phone", "call me", "Phone: Enter a phone number of 6 to 24 digits"),
    ("carrier", "contact_email", "noc@", "Contact e-mail: Enter a valid email address."),
    ("card", "currency", "XYZ", "Currency: Select a valid choice. XYZ is not one of"),
    ("card", "direction", "sideways", "Direction: Select a valid choice."),
    ("routing", "prefix", "+44", "Prefix: Use digits only (0-9)"),
    ("routing", "prefix", "44 20", "Prefix: Use digits only (0-9)"),
    ("routing", "priority", "0", "Priority: Use a priority from 1 (tried first) to 100."),
    ("billing", "amount", "0.00", "Amount: The amount must be at least 0.01."),
    ("billing", "amount", "12.345", "Amount: Ensure that there are no more than 2 decimal"),
    ("billing", "number", "INV 42", "Number: Use letters, digits, &#x27;-&#x27; and"),
    ("billing", "issue_date", "31/02/2026", "Issue date: Enter a valid date."),
    ("billing", "currency", "usd", "Currency: Select a valid choice."),
    ("support-ticket", "subject", "", "Subject: This field is required."),
    ("support-ticket", "body", "", "Body: This field is required."),
]


@pytest.mark.parametrize(("area", "field", "value", "message"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_field(
    client_as, manager, mine, area, field, value, message
):
    case = CASE_OF[area]
    data = case.create_data(mine) | {field: value}

    response = client_as(manager).post(reverse(f"{area}-create"), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "field--error" in page
    model = type(mine.row(area))
    assert not model.objects.filter(**dict([case.lookup])).exists()


def test_a_duplicate_carrier_name_is_refused_whatever_the_case(client_as, manager):
    CarrierFactory(name="Atlas Transit")

    response = client_as(manager).post(
        reverse("carrier-create"),
        {"name": "ATLAS transit", "status": "active", "contact_email": "noc@atlas.example"},
    )

    assert "A carrier with this name already exists." in response.content.decode()
    assert Carrier.objects.count() == 1


def test_a_route_cannot_use_a_card_assigned_to_another_reseller(
    client_as, manager, mine, other_reseller
):
    bluewave_card = RateCardFactory(name="Bluewave Retail", reseller=other_reseller)
    data = CASE_OF["routing"].create_data(mine) | {"rate_card": bluewave_card.pk}

    response = client_as(manager).post(reverse("routing-create"), data)

    assert "Rate card: This rate card is assigned to another reseller." in response.content.decode()


def test_the_same_route_twice_is_refused(client_as, manager, mine):
    data = CASE_OF["routing"].create_data(mine)
    client = client_as(manager)
    client.post(reverse("routing-create"), data)

    response = client.post(reverse("routing-create"), data)

    assert "already has a route for this prefix through this carrier" in response.content.decode()


def test_an_edit_with_bad_input_changes_nothing(client_as, manager, mine):
    url = reverse("customer-update", args=[mine.customer.pk])
    data = CASE_OF["customer"].create_data(mine) | {"balance": "lots"}

    response = client_as(manager).post(url, data)

    assert "Balance: Enter a number." in response.content.decode()
    mine.customer.refresh_from_db()
    assert mine.customer.name == "Acme Customer"


def test_a_duplicate_direct_customer_name_is_refused(client_as, manager):
    CustomerFactory(name="Globex Voice", reseller=None)
    data = CASE_OF["customer"].create_data(None) | {"name": "globex VOICE"}

    response = client_as(manager).post(reverse("customer-create"), data)

    assert "Name: A customer with this name already exists." in response.content.decode()
    assert Customer.objects.filter(name__iexact="globex voice").count() == 1


def test_a_reseller_user_is_told_of_a_duplicate_in_their_own_reseller(
    client_as, reseller_manager, reseller
):
    CustomerFactory(name="Globex Voice", reseller=reseller)

    response = client_as(reseller_manager).post(
        reverse("customer-create"), CASE_OF["customer"].create_data(None)
    )

    assert "A customer with this name already exists." in response.content.decode()
    assert Customer.objects.filter(name="Globex Voice").count() == 1


def test_another_resellers_customer_names_do_not_clash(client_as, reseller_manager, other_reseller):
    CustomerFactory(name="Globex Voice", reseller=other_reseller)

    response = client_as(reseller_manager).post(
        reverse("customer-create"), CASE_OF["customer"].create_data(None)
    )

    assert response.status_code == 302
    assert Customer.objects.filter(name="Globex Voice").count() == 2
