"""Every area, through its pages: create, read, edit and delete, as a user allowed to."""

import pytest
from django.urls import reverse

from controlpanel.areas.registry import business_definitions
from controlpanel.audit.models import AuditEntry

from .cases import CASE_IDS, CASES

DEFINITIONS = {d.key: d for d in business_definitions()}


def _find(case, **extra):
    model = DEFINITIONS[case.key].model
    field, value = case.lookup
    return model.objects.filter(**{field: value}, **extra).first()


def case_value_before(case, side):
    return case.create_data(side)[case.change[0]]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_record_created_on_its_page_appears_in_the_list(client_as, manager, mine, case):
    client = client_as(manager)
    assert client.get(reverse(f"{case.key}-create")).status_code == 200

    response = client.post(reverse(f"{case.key}-create"), case.create_data(mine))

    created = _find(case)
    assert created is not None, response.content.decode()[:3000]
    assert response.status_code == 302
    assert response["Location"] == reverse(f"{case.key}-detail", args=[created.pk])
    listing = client.get(reverse(f"{case.key}-list"), {"q": case.lookup[1]})
    assert reverse(f"{case.key}-detail", args=[created.pk]) in listing.content.decode()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_detail_page_shows_the_record(client_as, manager, mine, case):
    row = mine.row(case.key)

    response = client_as(manager).get(reverse(f"{case.key}-detail", args=[row.pk]))

    assert response.status_code == 200
    assert str(row) in response.content.decode()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_an_edit_is_saved_and_audited_with_before_and_after(client_as, manager, mine, case):
    client = client_as(manager)
    client.post(reverse(f"{case.key}-create"), case.create_data(mine))
    row = _find(case)
    field, new_value = case.change
    data = case.create_data(mine) | {field: new_value}

    response = client.post(reverse(f"{case.key}-update", args=[row.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    row.refresh_from_db()
    assert str(getattr(row, field)) == new_value
    entry = AuditEntry.objects.filter(
        action="update", object_type=row._meta.model_name, object_id=str(row.pk)
    ).latest("id")
    assert entry.actor == manager
    before, after = entry.changes[field]
    assert (str(before), str(after)) == (str(case_value_before(case, mine)), new_value)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_record_is_deleted_after_confirming(client_as, manager, mine, case):
    client = client_as(manager)
    client.post(reverse(f"{case.key}-create"), case.create_data(mine))
    row = _find(case)
    url = reverse(f"{case.key}-delete", args=[row.pk])

    confirm = client.get(url)
    response = client.post(url)

    assert "This cannot be undone" in confirm.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse(f"{case.key}-list")
    assert _find(case) is None
    assert AuditEntry.objects.filter(
        action="delete", object_type=row._meta.model_name, object_id=str(row.pk)
    ).exists()


def test_creating_a_record_is_audited_with_its_values(client_as, manager, mine):
    client_as(manager).post(reverse("carrier-create"), CASES[2].create_data(mine))

    entry = AuditEntry.objects.get(action="create", object_type="carrier")
    assert entry.changes["name"] == [None, "Zenith Wholesale"]
    assert entry.changes["contact_email"] == [None, "noc@zenith.example"]


def test_a_customer_with_invoices_cannot_be_deleted_and_says_why(client_as, manager, mine):
    url = reverse("customer-delete", args=[mine.customer.pk])

    response = client_as(manager).post(url)

    assert response.status_code == 409
    page = response.content.decode()
    assert "Cannot delete customer “Acme Customer”" in page
    assert "1 invoice" in page
    assert "1 call record" in page
    assert type(mine.customer).objects.filter(pk=mine.customer.pk).exists()


def test_a_new_ticket_is_raised_by_whoever_opens_it(client_as, manager, mine):
    client_as(manager).post(reverse("support-ticket-create"), CASES[-1].create_data(mine))

    ticket = _find(CASES[-1])
    assert ticket.raised_by == manager
