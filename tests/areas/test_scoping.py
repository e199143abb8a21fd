"""A reseller's user sees and acts on their own reseller's rows only: lists, detail
pages, edits, deletes and the choices in forms. Another reseller's row by id is 404."""

import pytest
from django.urls import reverse

from controlpanel.areas.models import Customer, RateCard, Route

from .cases import CASES
from .conftest import SCOPED_AREAS
from .factories import CustomerFactory, RateCardFactory

CASE_OF = {case.key: case for case in CASES}
WRITABLE_SCOPED = [key for key in SCOPED_AREAS if key in CASE_OF]


def _option(row):
    return f'<option value="{row.pk}">{row}</option>'


def _detail(area, row):
    return reverse(f"{area}-detail", args=[row.pk])


@pytest.mark.parametrize("area", SCOPED_AREAS)
def test_a_resellers_list_shows_only_its_own_rows(client_as, reseller_manager, mine, theirs, area):
    page = client_as(reseller_manager).get(reverse(f"{area}-list")).content.decode()

    assert _detail(area, mine.row(area)) in page
    assert _detail(area, theirs.row(area)) not in page


@pytest.mark.parametrize("area", SCOPED_AREAS)
def test_a_user_without_a_reseller_sees_every_resellers_rows(
    client_as, manager, mine, theirs, area
):
    page = client_as(manager).get(reverse(f"{area}-list")).content.decode()

    assert _detail(area, mine.row(area)) in page
    assert _detail(area, theirs.row(area)) in page


@pytest.mark.parametrize("area", SCOPED_AREAS)
def test_another_resellers_row_by_id_is_not_found(client_as, reseller_manager, mine, theirs, area):
    client = client_as(reseller_manager)

    assert client.get(_detail(area, mine.row(area))).status_code == 200
    assert client.get(_detail(area, theirs.row(area))).status_code == 404


@pytest.mark.parametrize("area", WRITABLE_SCOPED)
def test_another_resellers_row_cannot_be_edited(client_as, reseller_manager, mine, theirs, area):
    client = client_as(reseller_manager)
    row = theirs.row(area)
    url = reverse(f"{area}-update", args=[row.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, CASE_OF[area].create_data(mine)).status_code == 404
    before = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    row.refresh_from_db()
    assert {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields} == before


@pytest.mark.parametrize("area", WRITABLE_SCOPED)
def test_another_resellers_row_cannot_be_deleted(client_as, reseller_manager, theirs, area):
    client = client_as(reseller_manager)
    row = theirs.row(area)
    url = reverse(f"{area}-delete", args=[row.pk])

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("area", ["contact", "routing", "billing", "support-ticket"])
def test_another_resellers_customer_is_not_offered(client_as, reseller_manager, mine, theirs, area):
    page = client_as(reseller_manager).get(reverse(f"{area}-create")).content.decode()

    assert _option(mine.customer) in page
    assert _option(theirs.customer) not in page


@pytest.mark.parametrize("area", ["contact", "routing", "billing", "support-ticket"])
def test_another_resellers_customer_is_refused_when_posted(
    client_as, reseller_manager, mine, theirs, area
):
    case = CASE_OF[area]
    data = case.create_data(mine) | {"customer": theirs.customer.pk}

    response = client_as(reseller_manager).post(reverse(f"{area}-create"), data)

    assert response.status_code == 200
    assert "Customer: Select a valid choice." in response.content.decode()
    model = type(mine.row(area))
    assert not model.objects.filter(**dict([case.lookup])).exists()


def test_another_resellers_rate_card_is_not_offered_for_a_route(
    client_as, reseller_manager, mine, theirs
):
    page = client_as(reseller_manager).get(reverse("routing-create")).content.decode()

    assert _option(mine.card) in page
    assert _option(theirs.card) not in page


def test_another_resellers_rate_card_is_refused_when_posted(
    client_as, reseller_manager, mine, theirs
):
    data = CASE_OF["routing"].create_data(mine) | {"rate_card": theirs.card.pk}

    response = client_as(reseller_manager).post(reverse("routing-create"), data)

    assert "Rate card: Select a valid choice." in response.content.decode()
    assert not Route.objects.filter(prefix="4420").exists()


def test_a_reseller_user_cannot_move_their_row_to_another_resellers_customer(
    client_as, reseller_manager, mine, theirs
):
    url = reverse("contact-update", args=[mine.contact.pk])
    data = CASE_OF["contact"].create_data(mine) | {"customer": theirs.customer.pk}

    response = client_as(reseller_manager).post(url, data)

    assert "Customer: Select a valid choice." in response.content.decode()
    mine.contact.refresh_from_db()
    assert mine.contact.customer == mine.customer


def test_a_reseller_users_new_customer_gets_their_reseller(
    client_as, reseller_manager, reseller, other_reseller
):
    client = client_as(reseller_manager)
    form = client.get(reverse("customer-create")).content.decode()
    data = CASE_OF["customer"].create_data(None) | {"reseller": other_reseller.pk}

    client.post(reverse("customer-create"), data)

    assert 'name="reseller"' not in form
    assert "Reseller: <strong>Acme Telecom</strong> (yours, set automatically)" in form
    assert Customer.objects.get(name="Globex Voice").reseller == reseller


def test_a_reseller_user_cannot_move_a_customer_to_another_reseller(
    client_as, reseller_manager, mine, other_reseller
):
    url = reverse("customer-update", args=[mine.customer.pk])
    data = CASE_OF["customer"].create_data(mine) | {"reseller": other_reseller.pk}

    client_as(reseller_manager).post(url, data)

    mine.customer.refresh_from_db()
    assert mine.customer.name == "Globex Voice"
    assert mine.customer.reseller == mine.reseller


def test_a_reseller_users_new_rate_card_is_assigned_to_their_reseller(
    client_as, reseller_manager, reseller
):
    data = CASE_OF["card"].create_data(None)

    client_as(reseller_manager).post(reverse("card-create"), data)

    assert RateCard.objects.get(name="Retail EUR").reseller == reseller


def test_a_reseller_user_sees_only_rate_cards_assigned_to_their_reseller(
    client_as, reseller_manager, manager, mine, theirs
):
    unassigned = RateCardFactory(name="Operator Wholesale", reseller=None)

    reseller_page = client_as(reseller_manager).get(reverse("card-list")).content.decode()
    staff_page = client_as(manager).get(reverse("card-list")).content.decode()

    assert _detail("card", mine.card) in reseller_page
    assert _detail("card", unassigned) not in reseller_page
    assert _detail("card", unassigned) in staff_page


def test_direct_customers_are_not_a_resellers(client_as, reseller_manager, manager):
    direct = CustomerFactory(name="Direct Dial Ltd", reseller=None)

    assert client_as(reseller_manager).get(_detail("customer", direct)).status_code == 404
    assert client_as(manager).get(_detail("customer", direct)).status_code == 200


def test_carriers_are_not_reseller_scoped(client_as, reseller_manager, mine, theirs):
    page = client_as(reseller_manager).get(reverse("carrier-list")).content.decode()

    assert _detail("carrier", mine.carrier) in page
    assert _detail("carrier", theirs.carrier) in page


def test_the_cdr_customer_filter_offers_only_own_customers(
    client_as, reseller_manager, mine, theirs
):
    client = client_as(reseller_manager)

    page = client.get(reverse("cdr-list")).content.decode()
    refused = client.get(reverse("cdr-list"), {"customer": theirs.customer.pk})

    assert _option(mine.customer) in page
    assert _option(theirs.customer) not in page
    assert "Customer: Select a valid choice." in refused.content.decode()
    assert _detail("cdr", theirs.cdr) not in refused.content.decode()


def test_a_read_only_reseller_user_is_scoped_too(client_as, reseller_user, mine, theirs):
    client = client_as(reseller_user)

    assert client.get(_detail("customer", mine.customer)).status_code == 200
    assert client.get(_detail("customer", theirs.customer)).status_code == 404
    assert client.get(reverse("customer-create")).status_code == 403


def test_related_sections_show_only_rows_in_scope(client_as, reseller_manager, mine, theirs):
    # A carrier is shared by every reseller; the routes through it are not.
    theirs_route = theirs.route
    theirs_route.carrier = mine.carrier
    theirs_route.save()

    page = client_as(reseller_manager).get(_detail("carrier", mine.carrier)).content.decode()

    assert _detail("routing", mine.route) in page
    assert _detail("routing", theirs_route) not in page
