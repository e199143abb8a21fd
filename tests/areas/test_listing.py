"""Lists: a search box, sortable column headers (plain links) and pages."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .factories import (
    CallRecordFactory,
    CarrierFactory,
    ContactFactory,
    CustomerFactory,
    RouteFactory,
    TicketFactory,
)


@pytest.fixture
def thirty_carriers(db):
    return [CarrierFactory(name=f"Carrier {n:02d}") for n in range(30)]


def _names(response):
    return re.findall(r">(Carrier \d\d)</a>", response.content.decode())


def test_the_list_is_paginated(client_as, admin, thirty_carriers):
    client = client_as(admin)

    first = client.get(reverse("carrier-list"))
    second = client.get(reverse("carrier-list"), {"page": 2})

    assert _names(first) == [f"Carrier {n:02d}" for n in range(25)]
    assert _names(second) == [f"Carrier {n:02d}" for n in range(25, 30)]
    assert "Page 1 of 2" in first.content.decode()


def test_a_page_past_the_end_shows_the_last_page(client_as, admin, thirty_carriers):
    response = client_as(admin).get(reverse("carrier-list"), {"page": 99})

    assert "Page 2 of 2" in response.content.decode()


def test_search_narrows_the_list(client_as, admin, thirty_carriers):
    response = client_as(admin).get(reverse("carrier-list"), {"q": "carrier 1"})

    assert _names(response) == [f"Carrier {n:02d}" for n in range(10, 20)]
    assert "10 carriers matching “carrier 1”" in response.content.decode()


def test_a_column_header_sorts_the_list_and_then_reverses_it(client_as, admin, thirty_carriers):
    client = client_as(admin)

    ascending = client.get(reverse("carrier-list"), {"sort": "name"})
    link = re.search(
        r'<a class="sort sort--ascending" href="([^"]+)">Name', ascending.content.decode()
    )
    descending = client.get(reverse("carrier-list") + link.group(1).replace("&amp;", "&"))

    assert _names(ascending)[0] == "Carrier 00"
    assert "sort=-name" in link.group(1)
    assert _names(descending)[0] == "Carrier 29"


def test_sorting_keeps_the_search(client_as, admin, thirty_carriers):
    page = client_as(admin).get(reverse("carrier-list"), {"q": "carrier 2"}).content.decode()

    assert 'href="?q=carrier+2&amp;sort=status"' in page


def test_an_unknown_sort_is_ignored(client_as, admin, thirty_carriers):
    response = client_as(admin).get(reverse("carrier-list"), {"sort": "contact_email__secret"})

    assert response.status_code == 200
    assert _names(response)[0] == "Carrier 00"


def test_money_is_sorted_as_numbers(client_as, admin):
    CustomerFactory(name="Small", balance="9.00")
    CustomerFactory(name="Large", balance="100.00")

    page = client_as(admin).get(reverse("customer-list"), {"sort": "-balance"}).content.decode()

    assert page.index(">Large<") < page.index(">Small<")


def test_an_empty_search_says_nothing_matches(client_as, admin, thirty_carriers):
    response = client_as(admin).get(reverse("carrier-list"), {"q": "zzz"})

    assert "No records match." in response.content.decode()


@pytest.mark.parametrize("area", ["contact", "routing", "support-ticket", "cdr", "customer"])
def test_a_full_page_costs_no_more_queries_than_a_short_one(
    client_as, admin, mine, theirs, area, django_assert_max_num_queries
):
    client = client_as(admin)
    url = reverse(f"{area}-list")
    client.get(url)  # warm the session and the permission cache
    with CaptureQueriesContext(connection) as short:
        client.get(url)
    make = {
        "contact": lambda: ContactFactory(customer=mine.customer),
        "routing": lambda: RouteFactory(customer=mine.customer),
        "support-ticket": lambda: TicketFactory(customer=mine.customer),
        "cdr": lambda: CallRecordFactory(customer=mine.customer),
        "customer": lambda: CustomerFactory(reseller=mine.reseller),
    }[area]
    for _ in range(30):
        make()

    with django_assert_max_num_queries(len(short.captured_queries)):
        response = client.get(url)

    assert response.status_code == 200
