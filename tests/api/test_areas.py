"""The business areas and resellers through the API: for every area and action, a user
who holds it can, a user who lacks it is refused naming the area and action, and a row of
another reseller does not exist for a reseller's user."""

from __future__ import annotations

import pytest

from controlpanel.areas.models import Contact, Customer, RateCard, Ticket
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import ACTIONS
from resellers.models import Reseller
from tests.areas.factories import (
    CarrierFactory,
    CustomerFactory,
    InvoiceFactory,
    RateCardFactory,
)
from tests.factories import ResellerFactory

pytestmark = pytest.mark.django_db

WRITABLE = ["customer", "contact", "carrier", "card", "routing", "billing", "support-ticket"]
WRITABLE_AREAS = [*WRITABLE, "reseller"]
READ_ONLY = ["cdr"]

# Valid JSON to create one row, given the world whose rows it may refer to.
CREATE = {
    "customer": lambda w: {"name": "Globex Voice", "credit_limit": "500.00"},
    "contact": lambda w: {
        "customer": w.customer.pk,
        "name": "Grace Hopper",
        "email": "grace@globex.example",
        "phone": "+1 202 555 0100",
    },
    "carrier": lambda w: {"name": "Zenith Wholesale", "contact_email": "noc@zenith.example"},
    "card": lambda w: {"name": "Zenith Card", "currency": "EUR", "direction": "inbound"},
    "routing": lambda w: {
        "customer": w.customer.pk,
        "prefix": "4420",
        "carrier": w.carrier.pk,
        "rate_card": w.card.pk,
        "priority": 2,
    },
    "billing": lambda w: {
        "customer": w.customer.pk,
        "number": "INV-2026-0042",
        "issue_date": "2026-02-01",
        "amount": "99.50",
    },
    "support-ticket": lambda w: {
        "customer": w.customer.pk,
        "subject": "One-way audio",
        "body": "Calls to Spain have one-way audio since Monday.",
    },
    "reseller": lambda w: {"name": "Northwind Voice", "email": "ops@northwind.example"},
}
# One field changed by an update, and its new value.
CHANGE = {
    "customer": ("name", "Acme Customer Ltd"),
    "contact": ("name", "Ada Lovelace"),
    "carrier": ("status", "testing"),
    "card": ("direction", "inbound"),
    "routing": ("priority", 7),
    "billing": ("status", "void"),
    "support-ticket": ("status", "closed"),
    "reseller": ("email", "billing@acme.example"),
}


def row_of(area: str, world):
    return {
        "customer": world.customer,
        "contact": world.contact,
        "carrier": world.carrier,
        "card": world.card,
        "routing": world.route,
        "billing": world.invoice,
        "cdr": world.cdr,
        "support-ticket": world.ticket,
        "reseller": world.reseller,
    }[area]


def deletable_row(area: str, world):
    """A row nothing else needs, so deleting it is allowed."""
    return {
        "customer": lambda: CustomerFactory(reseller=world.reseller),
        "contact": lambda: world.contact,
        "carrier": lambda: CarrierFactory(),
        "card": lambda: RateCardFactory(reseller=world.reseller),
        "routing": lambda: world.route,
        "billing": lambda: InvoiceFactory(customer=world.customer),
        "support-ticket": lambda: world.ticket,
        "reseller": lambda: ResellerFactory(),
    }[area]()


def path(area: str, pk=None) -> str:
    return f"/api/cp/{area}" if pk is None else f"/api/cp/{area}/{pk}"


def others(action: str) -> list[str]:
    return [a for a in ACTIONS if a != action]


# --- Allowed ---------------------------------------------------------------------------


@pytest.mark.parametrize("area", [*WRITABLE_AREAS, *READ_ONLY])
def test_a_user_with_read_lists_and_opens_rows(area, api_as, member, mine):
    api = api_as(member(allow={area: ["read"]}))
    listed = api.get(path(area))
    assert listed.status_code == 200
    assert row_of(area, mine).pk in [row["id"] for row in listed.json()["results"]]
    shown = api.get(path(area, row_of(area, mine).pk))
    assert shown.status_code == 200
    assert shown.json()["id"] == row_of(area, mine).pk


@pytest.mark.parametrize("area", WRITABLE_AREAS)
def test_a_user_with_create_creates_through_the_service(area, api_as, member, mine):
    user = member(allow={area: ["create"]})
    response = api_as(user).post(path(area), CREATE[area](mine))
    assert response.status_code == 201, response.json()
    created = response.json()
    entry = AuditEntry.objects.get(action="create", object_id=str(created["id"]), actor=user)
    assert entry.message.startswith("Created")


@pytest.mark.parametrize("area", WRITABLE_AREAS)
def test_a_user_with_update_changes_a_field_and_it_is_audited(area, api_as, member, mine):
    user = member(allow={area: ["update"]})
    row = row_of(area, mine)
    field, value = CHANGE[area]
    response = api_as(user).patch(path(area, row.pk), {field: value})
    assert response.status_code == 200, response.json()
    assert response.json()[field] == value
    assert AuditEntry.objects.filter(action="update", object_id=str(row.pk), actor=user).exists()


@pytest.mark.parametrize("area", WRITABLE_AREAS)
def test_a_user_with_delete_deletes(area, api_as, member, mine):
    user = member(allow={area: ["delete"]})
    row = deletable_row(area, mine)
    response = api_as(user).delete(path(area, row.pk))
    assert response.status_code == 204
    assert not type(row).objects.filter(pk=row.pk).exists()
    assert AuditEntry.objects.filter(action="delete", object_id=str(row.pk), actor=user).exists()


# --- Refused ---------------------------------------------------------------------------


def _attempt(api, area, action, world):
    row = row_of(area, world)
    if action == "read":
        return api.get(path(area, row.pk))
    if action == "create":
        return api.post(path(area), CREATE[area](world) if area in CREATE else {})
    if action == "update":
        field, value = CHANGE.get(area, ("caller", "123456"))
        return api.patch(path(area, row.pk), {field: value})
    return api.delete(path(area, row.pk))


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("area", [*WRITABLE_AREAS, *READ_ONLY])
def test_a_user_without_the_action_is_refused_naming_area_and_action(
    area, action, api_as, member, mine
):
    user = member(allow={area: others(action)})
    before = {area: type(row_of(area, mine)).objects.count()}
    response = _attempt(api_as(user), area, action, mine)
    assert response.status_code == 403
    body = response.json()
    assert (body["area"], body["action"]) == (area, action)
    assert action in body["detail"]
    assert "results" not in body and "id" not in body  # never the refused data
    assert AuditEntry.objects.filter(action="refused", actor=user, object_id=area).exists()
    assert type(row_of(area, mine)).objects.count() == before[area]


def test_a_user_with_no_groups_can_do_nothing_through_the_api(api_as, outsider, mine):
    api = api_as(outsider)
    for area in [*WRITABLE_AREAS, *READ_ONLY, "user", "group", "audit-log"]:
        response = api.get(path(area))
        assert response.status_code == 403, area
        assert response.json()["area"] == area


@pytest.mark.parametrize("area", READ_ONLY)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_read_only_area_answers_405_to_writes(area, method, api_as, admin, mine):
    target = path(area) if method == "POST" else path(area, row_of(area, mine).pk)
    response = api_as(admin).call(method, target, {"caller": "123456"})
    assert response.status_code == 405
    assert "not allowed" in response.json()["detail"]


# --- Reseller scope --------------------------------------------------------------------


@pytest.mark.parametrize("area", ["customer", "contact", "card", "routing", "billing", "cdr"])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_another_resellers_row_answers_404(area, method, api_as, member, reseller, mine, theirs):
    rosa = member(reseller=reseller)
    row = row_of(area, theirs)
    response = api_as(rosa).call(method, path(area, row.pk), {"name": "Mine now"})
    expected = 405 if area == "cdr" and method != "GET" else 404
    assert response.status_code == expected
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("area", ["customer", "contact", "card", "routing", "billing", "cdr"])
def test_a_resellers_user_lists_only_their_resellers_rows(
    area, api_as, member, reseller, mine, theirs
):
    rosa = member(reseller=reseller)
    ids = {row["id"] for row in api_as(rosa).get(path(area)).json()["results"]}
    assert row_of(area, mine).pk in ids
    assert row_of(area, theirs).pk not in ids


def test_another_resellers_ticket_answers_404(api_as, member, reseller, mine, theirs):
    rosa = member(reseller=reseller)
    assert api_as(rosa).get(path("support-ticket", theirs.ticket.pk)).status_code == 404
    assert api_as(rosa).get(path("support-ticket", mine.ticket.pk)).status_code == 200


@pytest.mark.parametrize(
    ("area", "field", "other_row"),
    [
        ("contact", "customer", lambda w: w.customer),
        ("routing", "customer", lambda w: w.customer),
        ("routing", "rate_card", lambda w: w.card),
        ("billing", "customer", lambda w: w.customer),
        ("support-ticket", "customer", lambda w: w.customer),
    ],
)
def test_another_resellers_row_in_the_input_is_a_field_error(
    area, field, other_row, api_as, member, reseller, mine, theirs
):
    rosa = member(reseller=reseller)
    data = {**CREATE[area](mine), field: other_row(theirs).pk}
    response = api_as(rosa).post(path(area), data)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_an_unknown_id_and_another_resellers_id_get_the_same_error(
    api_as, member, reseller, mine, theirs
):
    """Nothing tells a reseller's user which ids exist elsewhere."""
    api = api_as(member(reseller=reseller))
    theirs_error = api.post(
        path("contact"), {**CREATE["contact"](mine), "customer": theirs.customer.pk}
    )
    missing_error = api.post(path("contact"), {**CREATE["contact"](mine), "customer": 999999})
    assert theirs_error.json()["errors"]["customer"][0].replace(
        str(theirs.customer.pk), "N"
    ) == missing_error.json()["errors"]["customer"][0].replace("999999", "N")


def test_a_resellers_user_creates_customers_of_their_own_reseller(
    api_as, member, reseller, mine, theirs
):
    rosa = member(reseller=reseller)
    response = api_as(rosa).post(
        path("customer"), {"name": "Initech", "reseller": theirs.reseller.pk}
    )
    assert response.status_code == 201
    assert response.json()["reseller"] == reseller.pk
    assert Customer.objects.get(name="Initech").reseller == reseller


def test_a_resellers_user_cannot_move_a_customer_to_another_reseller(
    api_as, member, reseller, mine, theirs
):
    rosa = member(reseller=reseller)
    response = api_as(rosa).patch(
        path("customer", mine.customer.pk), {"reseller": theirs.reseller.pk}
    )
    assert response.status_code == 200
    mine.customer.refresh_from_db()
    assert mine.customer.reseller == reseller


# --- Validation, the same as the pages' --------------------------------------------------


def test_invalid_input_is_a_400_naming_each_field(api_as, admin, mine):
    response = api_as(admin).post(
        path("routing"),
        {
            "customer": mine.customer.pk,
            "prefix": "+44 20",
            "carrier": mine.carrier.pk,
            "rate_card": mine.card.pk,
            "priority": 500,
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert set(body["errors"]) == {"prefix", "priority"}
    assert all(
        isinstance(message, str) for messages in body["errors"].values() for message in messages
    )


def test_the_forms_own_rules_apply(api_as, admin, mine, theirs):
    """A rate card assigned to another reseller cannot price this customer's route: the
    model's clean, run by the form, says so on the field."""
    data = {**CREATE["routing"](mine), "rate_card": theirs.card.pk}
    response = api_as(admin).post(path("routing"), data)
    assert response.status_code == 400
    assert "another reseller" in response.json()["errors"]["rate_card"][0]


def test_a_duplicate_name_is_refused_like_on_the_page(api_as, admin, mine):
    response = api_as(admin).post(
        path("carrier"), {"name": mine.carrier.name.upper(), "contact_email": "a@b.example"}
    )
    assert response.status_code == 400
    assert "already exists" in str(response.json()["errors"])


def test_put_needs_the_required_fields_and_patch_does_not(api_as, admin, mine):
    api = api_as(admin)
    assert api.put(path("contact", mine.contact.pk), {"name": "Only a name"}).status_code == 400
    patched = api.patch(path("contact", mine.contact.pk), {"name": "Only a name"})
    assert patched.status_code == 200
    mine.contact.refresh_from_db()
    assert (mine.contact.name, mine.contact.customer) == ("Only a name", mine.customer)


@pytest.mark.parametrize("area", WRITABLE_AREAS)
def test_a_record_read_can_be_sent_back_unchanged(area, api_as, admin, mine):
    api = api_as(admin)
    shown = api.get(path(area, row_of(area, mine).pk)).json()
    response = api.put(path(area, shown["id"]), shown)
    assert response.status_code == 200, response.json()
    saved = {name: value for name, value in response.json().items() if name != "updated_at"}
    assert saved == {name: value for name, value in shown.items() if name != "updated_at"}


def test_json_of_the_wrong_type_is_a_field_error(api_as, admin):
    response = api_as(admin).post(
        path("customer"), {"name": ["a", "list"], "credit_limit": {"x": 1}}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "credit_limit"}


def test_a_row_that_others_still_need_is_not_deleted(api_as, admin, mine):
    response = api_as(admin).delete(path("customer", mine.customer.pk))
    assert response.status_code == 409
    assert "Delete or move those first" in response.json()["detail"]
    assert Customer.objects.filter(pk=mine.customer.pk).exists()


def test_a_reseller_with_customers_is_not_deleted(api_as, admin, mine):
    response = api_as(admin).delete(path("reseller", mine.reseller.pk))
    assert response.status_code == 409
    assert Reseller.objects.filter(pk=mine.reseller.pk).exists()


def test_a_new_ticket_is_raised_by_whoever_sent_it(api_as, member, mine):
    user = member(allow={"support-ticket": ["create", "read"]})
    data = {**CREATE["support-ticket"](mine), "raised_by": 1}
    response = api_as(user).post(path("support-ticket"), data)
    assert response.status_code == 201
    assert response.json()["raised_by"] == user.pk
    assert Ticket.objects.get(pk=response.json()["id"]).raised_by == user


def test_the_representation_shows_the_detail_pages_facts(api_as, admin, mine):
    invoice = api_as(admin).get(path("billing", mine.invoice.pk)).json()
    assert invoice["amount"] == "100.00"
    assert (invoice["paid_total"], invoice["outstanding"]) == ("0.00", "100.00")


# --- Rows added from a record's page -----------------------------------------------------


def test_a_payment_is_recorded_with_create_on_billing(api_as, member, mine):
    user = member(allow={"billing": ["create"]})
    response = api_as(user).post(
        f"/api/cp/billing/{mine.invoice.pk}/payments",
        {"paid_on": "2026-02-10", "amount": "100.00", "reference": "wire 42"},
    )
    assert response.status_code == 201, response.json()
    mine.invoice.refresh_from_db()
    assert mine.invoice.status == "paid"  # the service marks a settled invoice paid


def test_an_overpayment_is_refused_by_the_service(api_as, admin, mine):
    response = api_as(admin).post(
        f"/api/cp/billing/{mine.invoice.pk}/payments", {"paid_on": "2026-02-10", "amount": "150.00"}
    )
    assert response.status_code == 400
    assert "still owed" in response.json()["errors"]["amount"][0]


def test_recording_a_payment_without_create_on_billing_is_refused(api_as, member, mine):
    user = member(allow={"billing": ["read", "update", "delete"]})
    response = api_as(user).post(
        f"/api/cp/billing/{mine.invoice.pk}/payments", {"paid_on": "2026-02-10", "amount": "1.00"}
    )
    assert response.status_code == 403
    assert (response.json()["area"], response.json()["action"]) == ("billing", "create")


def test_a_ticket_reply_needs_update_as_on_the_ticket_page(api_as, member, mine):
    only_create = member(allow={"support-ticket": ["create", "read"]})
    refused = api_as(only_create).post(
        f"/api/cp/support-ticket/{mine.ticket.pk}/replies", {"body": "Any news?"}
    )
    assert refused.status_code == 403
    assert (refused.json()["area"], refused.json()["action"]) == ("support-ticket", "update")
    updater = member(allow={"support-ticket": ["update", "read"]})
    replied = api_as(updater).post(
        f"/api/cp/support-ticket/{mine.ticket.pk}/replies", {"body": "Fixed on our side."}
    )
    assert replied.status_code == 201
    assert replied.json()["author"] == updater.pk
    listed = api_as(updater).get(f"/api/cp/support-ticket/{mine.ticket.pk}/replies").json()
    assert [reply["body"] for reply in listed["results"]] == ["Fixed on our side."]


def test_child_rows_of_another_resellers_record_answer_404(api_as, member, reseller, mine, theirs):
    rosa = member(reseller=reseller)
    response = api_as(rosa).post(
        f"/api/cp/billing/{theirs.invoice.pk}/payments", {"paid_on": "2026-02-10", "amount": "1.00"}
    )
    assert response.status_code == 404
    assert not theirs.invoice.payments.exists()


# --- Lists: pages, filters, search, sorting ---------------------------------------------


def test_lists_are_paginated(api_as, admin):
    for n in range(30):
        CustomerFactory(name=f"Paged {n:02d}")
    api = api_as(admin)
    first = api.get(path("customer") + "?page_size=10").json()
    assert first["count"] == 30
    assert len(first["results"]) == 10
    assert first["next"].endswith("page=2&page_size=10")
    second = api.get(first["next"].removeprefix("http://testserver")).json()
    assert second["results"][0]["name"] == "Paged 10"
    assert api.get(path("customer") + "?page=99").status_code == 404


def test_lists_filter_by_field_search_and_sort(api_as, admin, mine, theirs):
    Customer.objects.filter(pk=theirs.customer.pk).update(status="suspended")
    api = api_as(admin)
    suspended = api.get(path("customer") + "?status=suspended").json()["results"]
    assert [row["id"] for row in suspended] == [theirs.customer.pk]
    by_reseller = api.get(path("customer") + f"?reseller={mine.reseller.pk}").json()["results"]
    assert [row["id"] for row in by_reseller] == [mine.customer.pk]
    searched = api.get(path("contact") + "?q=bluewave").json()["results"]
    assert [row["id"] for row in searched] == [theirs.contact.pk]
    names = [row["name"] for row in api.get(path("customer") + "?sort=-name").json()["results"]]
    assert names == sorted(names, reverse=True)
    active = api.get(path("reseller") + "?active=true").json()["results"]
    assert {row["id"] for row in active} == {mine.reseller.pk, theirs.reseller.pk}


def test_a_bad_filter_is_a_400_naming_it(api_as, admin, mine):
    api = api_as(admin)
    response = api.get(path("customer") + "?status=gone&sort=password")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "sort"}
    response = api.get(path("cdr") + "?date_from=2026-03-02&date_to=2026-03-01")
    assert response.status_code == 400
    assert "date_to" in response.json()["errors"]


def test_a_filter_on_another_resellers_row_is_refused(api_as, member, reseller, mine, theirs):
    rosa = member(reseller=reseller)
    response = api_as(rosa).get(path("contact") + f"?customer={theirs.customer.pk}")
    assert response.status_code == 400
    assert "customer" in response.json()["errors"]


def test_call_records_filter_by_customer(api_as, admin, mine, theirs):
    rows = api_as(admin).get(path("cdr") + f"?customer={theirs.customer.pk}").json()["results"]
    assert [row["id"] for row in rows] == [theirs.cdr.pk]


def test_inactive_resellers_are_not_offered_for_new_rows(api_as, admin, mine):
    Reseller.objects.filter(pk=mine.reseller.pk).update(active=False)
    response = api_as(admin).post(path("card"), {"name": "Late card", "reseller": mine.reseller.pk})
    assert response.status_code == 400
    assert "reseller" in response.json()["errors"]
    assert not RateCard.objects.filter(name="Late card").exists()


def test_a_contact_created_through_the_api_is_the_same_as_from_the_page(api_as, admin, mine):
    response = api_as(admin).post(path("contact"), CREATE["contact"](mine))
    contact = Contact.objects.get(pk=response.json()["id"])
    assert (contact.customer, contact.email, contact.role) == (
        mine.customer,
        "grace@globex.example",
        "technical",  # the model's default, as the page's form gives it
    )
