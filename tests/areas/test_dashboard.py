"""The dashboard: for each area the user can read, a count and the latest records, in
their scope, in a bounded number of queries."""

import re

from django.urls import reverse

from .factories import CallRecordFactory, CustomerFactory


def _count(page: str, label: str) -> int:
    match = re.search(
        rf">{re.escape(label)}</a></h2>\s*<span class=\"summary__count\"[^>]*>(\d+)<", page
    )
    assert match, f"no summary for {label}"
    return int(match.group(1))


def test_counts_and_latest_rows_are_scoped(client_as, reseller_manager, mine, theirs):
    page = client_as(reseller_manager).get("/").content.decode()

    assert _count(page, "Customers") == 1
    assert _count(page, "Carriers") == 2  # carriers are not reseller-scoped
    assert reverse("customer-detail", args=[mine.customer.pk]) in page
    assert reverse("customer-detail", args=[theirs.customer.pk]) not in page


def test_a_user_without_a_reseller_counts_every_row(client_as, manager, mine, theirs):
    page = client_as(manager).get("/").content.decode()

    assert _count(page, "Customers") == 2
    assert _count(page, "CDR") == 2


def test_only_areas_the_user_can_read_are_summarised(client_as, member, mine):
    user = member(allow={"billing": ["read"]})

    page = client_as(user).get("/").content.decode()

    assert _count(page, "Billing") == 1
    assert 'class="summary__count"' in page
    assert page.count('class="summary__count"') == 1


def test_the_latest_call_records_come_first(client_as, manager, mine):
    newest = CallRecordFactory(customer=mine.customer, caller="15550001111")

    page = client_as(manager).get("/").content.decode()

    cdr_section = page[page.index(">CDR</a>") :]
    assert cdr_section.index(reverse("cdr-detail", args=[newest.pk])) < cdr_section.index(
        reverse("cdr-detail", args=[mine.cdr.pk])
    )


def test_the_dashboard_query_count_does_not_grow_with_the_data(
    client_as, admin, mine, django_assert_max_num_queries
):
    client = client_as(admin)
    client.get("/")  # warm the permission cache and the session
    for n in range(30):
        CustomerFactory(name=f"Bulk {n}")

    # 9 areas x (count + latest rows) plus the session, the user and the sidebar.
    with django_assert_max_num_queries(9 * 2 + 6):
        response = client.get("/")

    assert response.status_code == 200
