"""``seed_demo`` builds a believable carrier business, quickly, and running it again
changes nothing."""

import time

from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from controlpanel.areas.models import (
    CallRecord,
    Carrier,
    Contact,
    Customer,
    Invoice,
    Payment,
    RateCard,
    Route,
    Ticket,
    TicketReply,
)
from permissions.models import Group
from permissions.resolver import effective_permissions
from resellers.models import Reseller

MODELS = [
    Reseller,
    Customer,
    Contact,
    Carrier,
    RateCard,
    Route,
    Invoice,
    Payment,
    CallRecord,
    Ticket,
    TicketReply,
    User,
    Group,
]


def _counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_seed_demo_builds_a_business_and_is_idempotent(db, capsys):
    started = time.monotonic()
    call_command("seed_demo")
    first_run = time.monotonic() - started
    first = _counts()
    call_command("seed_demo")
    second = _counts()

    assert first == second
    assert first_run < 10
    assert first["Reseller"] == 2
    assert first["Customer"] == 12
    assert first["CallRecord"] >= 2000
    assert first["Payment"] > 0 and first["TicketReply"] > 0
    out = capsys.readouterr().out
    assert "Demo administrator: admin@example.com / " in out
    assert "Demo user (Read only): viewer@example.com / " in out
    assert "Demo reseller user (Northwind Voice): nora@northwind.example / " in out


def test_the_demo_call_records_are_the_same_every_time(db):
    call_command("seed_demo")
    first = list(CallRecord.objects.order_by("id").values_list("callee", "duration", "cost"))
    CallRecord.objects.all().delete()
    call_command("seed_demo")
    second = list(CallRecord.objects.order_by("id").values_list("callee", "duration", "cost"))

    assert first == second


def test_each_reseller_has_a_user_in_the_reseller_group_with_the_preset(db):
    call_command("seed_demo")

    for reseller in Reseller.objects.all():
        user = User.objects.get(reseller=reseller)
        assert list(user.access_groups.values_list("name", flat=True)) == ["Reseller"]
        access = effective_permissions(user)
        assert access.actions("customer") == ["create", "read", "update", "delete"]
        assert access.actions("billing") == ["read"]
        assert access.actions("reseller") == []


def test_a_demo_reseller_user_sees_only_their_resellers_business(db, client):
    call_command("seed_demo")
    nora = User.objects.get(email="nora@northwind.example")
    client.force_login(nora)

    page = client.get(reverse("customer-list")).content.decode()

    for customer in Customer.objects.all():
        shown = reverse("customer-detail", args=[customer.pk]) in page
        assert shown == (customer.reseller_id == nora.reseller_id), customer.name


def test_the_demo_keeps_the_existing_staff_and_groups(db):
    call_command("seed_demo")

    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Network Services Engineers",
        "Billing team",
        "Read only",
        "Reseller",
    }
    assert User.objects.filter(email="noc@example.com").exists()
