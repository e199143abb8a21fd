"""Reseller accounts, under Settings: list, detail (its users, customers and groups),
create, edit and delete. A reseller that still has anything is not deleted."""

import pytest
from django.urls import reverse

from controlpanel.audit.models import AuditEntry
from resellers.models import Reseller
from tests.areas.factories import CustomerFactory, RateCardFactory
from tests.factories import GroupFactory, ResellerFactory, UserFactory


def test_the_resellers_list_lives_under_settings(client_as, admin, reseller):
    response = client_as(admin).get("/settings/resellers/")

    assert reverse("reseller-list") == "/settings/resellers/"
    assert response.status_code == 200
    assert reverse("reseller-detail", args=[reseller.pk]) in response.content.decode()


def test_the_sidebar_links_to_resellers_for_those_who_may_read_them(client_as, admin, outsider):
    assert 'href="/settings/resellers/"' in client_as(admin).get("/").content.decode()
    assert 'href="/settings/resellers/"' not in client_as(outsider).get("/").content.decode()


def test_a_reseller_is_created_and_audited(client_as, admin):
    response = client_as(admin).post(
        reverse("reseller-create"),
        {"name": "  Northwind   Voice ", "email": "ops@northwind.example", "active": "on"},
    )

    created = Reseller.objects.get(name="Northwind Voice")
    assert response["Location"] == reverse("reseller-detail", args=[created.pk])
    assert (created.email, created.active) == ("ops@northwind.example", True)
    entry = AuditEntry.objects.get(action="create", object_type="reseller")
    assert entry.changes["name"] == [None, "Northwind Voice"]


def test_a_reseller_name_is_unique_whatever_the_case(client_as, admin, reseller):
    response = client_as(admin).post(
        reverse("reseller-create"), {"name": "ACME telecom", "email": "x@acme.example"}
    )

    assert "A reseller with this name already exists." in response.content.decode()
    assert Reseller.objects.count() == 1


@pytest.mark.parametrize(
    ("email", "message"),
    [("", "E-mail: This field is required."), ("ops@", "E-mail: Enter a valid email address.")],
)
def test_a_reseller_needs_a_valid_email(client_as, admin, email, message):
    response = client_as(admin).post(reverse("reseller-create"), {"name": "Zeta", "email": email})

    assert message in response.content.decode()
    assert not Reseller.objects.exists()


def test_a_reseller_is_edited(client_as, admin, reseller):
    response = client_as(admin).post(
        reverse("reseller-update", args=[reseller.pk]),
        {"name": "Acme Telecom Group", "email": "ops@acme.example"},
    )

    assert response.status_code == 302
    reseller.refresh_from_db()
    assert (reseller.name, reseller.active) == ("Acme Telecom Group", False)
    entry = AuditEntry.objects.get(action="update", object_type="reseller")
    assert entry.changes["active"] == [True, False]


def test_the_detail_page_shows_the_resellers_users_customers_and_groups(client_as, admin, reseller):
    UserFactory(email="una@acme.example", reseller=reseller)
    CustomerFactory(name="Initech Voice", reseller=reseller)
    GroupFactory(name="Acme Support", reseller=reseller)
    CustomerFactory(name="Someone Else's", reseller=ResellerFactory())

    page = client_as(admin).get(reverse("reseller-detail", args=[reseller.pk])).content.decode()

    assert "una@acme.example" in page
    assert "Initech Voice" in page
    assert "Acme Support" in page
    assert "Someone Else&#x27;s" not in page


def test_an_empty_reseller_is_deleted(client_as, admin):
    empty = ResellerFactory(name="Dormant Ltd")

    response = client_as(admin).post(reverse("reseller-delete", args=[empty.pk]))

    assert response["Location"] == reverse("reseller-list")
    assert not Reseller.objects.filter(pk=empty.pk).exists()
    assert AuditEntry.objects.filter(action="delete", object_type="reseller").exists()


def test_a_reseller_with_customers_and_users_is_not_deleted(client_as, admin, reseller):
    CustomerFactory(reseller=reseller)
    CustomerFactory(reseller=reseller)
    UserFactory(reseller=reseller)

    response = client_as(admin).post(reverse("reseller-delete", args=[reseller.pk]))

    assert response.status_code == 409
    assert (
        "Cannot delete reseller “Acme Telecom”: it still has 2 customers and 1 user. "
        "Delete or move those first."
    ) in response.content.decode()
    assert Reseller.objects.filter(pk=reseller.pk).exists()
    assert not AuditEntry.objects.filter(action="delete").exists()


@pytest.mark.parametrize("what", ["group", "rate card"])
def test_a_reseller_with_groups_or_rate_cards_is_not_deleted(client_as, admin, reseller, what):
    if what == "group":
        GroupFactory(reseller=reseller)
    else:
        RateCardFactory(reseller=reseller)

    response = client_as(admin).post(reverse("reseller-delete", args=[reseller.pk]))

    assert f"it still has 1 {what}." in response.content.decode()
    assert Reseller.objects.filter(pk=reseller.pk).exists()


def test_an_inactive_reseller_is_not_offered_for_new_customers(client_as, admin, reseller):
    ResellerFactory(name="Dormant Ltd", active=False)

    page = client_as(admin).get(reverse("customer-create")).content.decode()

    assert f'<option value="{reseller.pk}">Acme Telecom</option>' in page
    assert "Dormant Ltd" not in page


def test_a_customers_inactive_reseller_stays_valid_when_editing(client_as, admin):
    dormant = ResellerFactory(name="Dormant Ltd", active=False)
    customer = CustomerFactory(name="Legacy Voice", reseller=dormant)

    response = client_as(admin).post(
        reverse("customer-update", args=[customer.pk]),
        {
            "name": "Legacy Voice",
            "reseller": dormant.pk,
            "status": "active",
            "credit_limit": "0",
            "balance": "0",
        },
    )

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("method", "name", "needs_row"),
    [
        ("get", "reseller-list", False),
        ("get", "reseller-detail", True),
        ("get", "reseller-create", False),
        ("post", "reseller-create", False),
        ("get", "reseller-update", True),
        ("post", "reseller-update", True),
        ("get", "reseller-delete", True),
        ("post", "reseller-delete", True),
    ],
)
def test_reseller_pages_are_refused_without_permission(
    client_as, reseller_user, reseller, method, name, needs_row
):
    # Rita's group reads everything; she may still not create, edit or delete resellers.
    url = reverse(name, args=[reseller.pk] if needs_row else None)

    response = getattr(client_as(reseller_user), method)(url, {"name": "X", "email": "x@x.io"})

    expected = 200 if name in ("reseller-list", "reseller-detail") else 403
    assert response.status_code == expected
    assert Reseller.objects.filter(pk=reseller.pk, name="Acme Telecom").exists()


def test_another_resellers_page_hides_its_customers_and_users_from_a_reseller_user(
    client_as, reseller_user, other_reseller
):
    CustomerFactory(name="Bluewave Retail Co", reseller=other_reseller)
    UserFactory(email="bob@bluewave.example", reseller=other_reseller)

    page = client_as(reseller_user).get(reverse("reseller-detail", args=[other_reseller.pk]))

    text = page.content.decode()
    assert "Bluewave Retail Co" not in text
    assert "bob@bluewave.example" not in text
