"""Editing a rule's area and effect, adding one access to several areas at once, and the
add form keeping its choices (issue 13).

Changing a rule's area or effect is checked like adding one (ACCESS_MODEL.md, "No one
grants what they do not hold"): moving an allow grants on the new area, moving a deny lifts
it on the old one. A multi-area add is all or nothing. Mia is a user manager (not an
administrator): she holds CRUD on users, groups and customers, and read on billing."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions import services
from permissions.models import Effect, Group, Rule
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

CRUD = ["create", "read", "update", "delete"]


def granular_group(name, *rules, defaults=CRUD) -> Group:
    group = GroupFactory(name=name, defaults=mask_of(defaults))
    for area, actions, effect in rules:
        Rule.objects.create(group=group, area=area, actions=mask_of(actions), effect=effect)
    return group


def entries(obj) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk)))


def rules_of(owner) -> list[tuple[str, list[str], str]]:
    return [(rule.area, rule.action_list, rule.effect) for rule in owner.rules.all()]


def edit_data(rule, **changes) -> dict:
    """What the edit form posts: the rule as rendered, with the person's changes."""
    data = {
        "area": rule.area,
        "access": rule.action_list,
        "effect": rule.effect,
        "expected_actions": rule.actions,
        "expected_area": rule.area,
        "expected_effect": rule.effect,
    }
    data.update(changes)
    return data


@pytest.fixture
def customer_readers(db):
    return granular_group("Customer readers", ("customer", ["read"], Effect.ALLOW))


# --- Editing a group rule's area and effect ---------------------------------------------


def test_editing_a_group_rule_changes_its_area_and_effect(client_as, admin):
    group = granular_group(
        "Billing", ("billing", ["read"], Effect.ALLOW), ("card", ["read"], Effect.ALLOW)
    )
    rule = group.rules.get(area="billing")
    url = f"/settings/groups/{group.pk}/rules/{rule.pk}/edit/"
    form = client_as(admin).get(url).content.decode()
    assert re.search(r'<option value="billing" selected>Billing \(/api/cp/billing\)', form)
    assert re.search(r'value="allow"[^>]*checked', form)

    response = client_as(admin).post(
        url, edit_data(rule, area="customer", effect="deny", access=["read", "delete"])
    )
    assert response.status_code == 302
    rule.refresh_from_db()  # the same rule, moved
    assert (rule.area, rule.action_list, rule.effect) == ("customer", ["read", "delete"], "deny")
    entry = entries(group)[0]
    assert entry.actor == admin
    assert entry.message == (
        "Rule for group Billing changed from allow read on billing to deny read, delete on "
        "customer."
    )
    assert entry.changes["area"] == {"before": "billing", "after": "customer"}
    assert entry.changes["effect"] == {"before": "allow", "after": "deny"}
    assert entry.changes["rule"]["before"] == ["read"]
    page = client_as(admin).get(f"/settings/groups/{group.pk}/").content.decode()
    table = page.split('class="table table--rows rules"', 1)[1].split("</table>", 1)[0]
    assert "/api/cp/customer" in table and "/api/cp/billing" not in table


def test_moving_an_allow_to_an_area_the_editor_lacks_is_refused(
    client_as, manager, customer_readers
):
    rule = customer_readers.rules.get()
    with pytest.raises(PermissionDenied, match="read on Carriers, which you do not hold"):
        services.rule_update(actor=manager, rule=rule, area="carrier")
    page = client_as(manager).post(
        f"/settings/groups/{customer_readers.pk}/rules/{rule.pk}/edit/",
        edit_data(rule, area="carrier"),
    )
    assert page.status_code == 403
    assert "read on Carriers, which you do not hold yourself" in page.content.decode()
    assert rules_of(customer_readers) == [("customer", ["read"], "allow")]
    assert entries(customer_readers) == []


def test_moving_an_allow_to_an_area_the_editor_holds_is_saved(manager, customer_readers):
    rule = services.rule_update(actor=manager, rule=customer_readers.rules.get(), area="billing")
    assert (rule.area, rule.action_list, rule.effect) == ("billing", ["read"], "allow")


def test_turning_a_deny_into_an_allow_the_editor_lacks_is_refused(manager):
    group = granular_group(
        "Billing clerks",
        ("customer", ["read"], Effect.ALLOW),
        ("billing", ["delete"], Effect.DENY),
    )
    deny = group.rules.get(effect="deny")
    with pytest.raises(PermissionDenied, match="grant delete on Billing, which you do not hold"):
        services.rule_update(actor=manager, rule=deny, effect="allow")
    deny.refresh_from_db()
    assert (deny.area, deny.effect) == ("billing", "deny")


def test_moving_a_deny_off_an_area_lifts_it_and_is_refused_when_the_editor_lacks_it(manager):
    group = granular_group(
        "Everything but carriers", ("carrier", CRUD, Effect.DENY), defaults=["read"]
    )
    deny = group.rules.get()
    # The deny moves to customers: on carriers it is lifted (the group's read comes back,
    # and any other group's grant would get through), which Mia does not hold.
    with pytest.raises(PermissionDenied) as refused:
        services.rule_update(actor=manager, rule=deny, area="customer")
    assert str(refused.value) == (
        "You cannot change the rule “deny create, read, update, delete on Carriers” to "
        "deny create, read, update, delete on Customers: it would grant create, read, "
        "update, delete on Carriers, which you do not hold yourself."
    )
    assert rules_of(group) == [("carrier", CRUD, "deny")]


def test_an_edit_onto_an_existing_area_and_effect_is_refused_naming_the_area(client_as, admin):
    group = granular_group(
        "Billing", ("billing", ["read"], Effect.ALLOW), ("customer", ["read"], Effect.ALLOW)
    )
    rule = group.rules.get(area="billing")
    with pytest.raises(ValidationError) as refused:
        services.rule_update(rule=rule, area="customer")
    assert refused.value.message_dict == {
        "area": ["This group already has an allow rule on Customers; edit its access instead."]
    }
    page = client_as(admin).post(
        f"/settings/groups/{group.pk}/rules/{rule.pk}/edit/", edit_data(rule, area="customer")
    )
    assert page.status_code == 200
    assert (
        "Area: This group already has an allow rule on Customers; edit its access instead."
        in page.content.decode()
    )
    assert rules_of(group) == [("billing", ["read"], "allow"), ("customer", ["read"], "allow")]


def test_an_edit_onto_an_existing_effect_is_refused_naming_the_effect(client_as, admin):
    group = granular_group(
        "Billing", ("billing", ["read"], Effect.ALLOW), ("billing", ["delete"], Effect.DENY)
    )
    rule = group.rules.get(effect="allow")
    page = client_as(admin).post(
        f"/settings/groups/{group.pk}/rules/{rule.pk}/edit/", edit_data(rule, effect="deny")
    )
    assert (
        "Effect: This group already has a deny rule on Billing; edit its access instead."
        in page.content.decode()
    )
    assert rules_of(group) == [("billing", ["read"], "allow"), ("billing", ["delete"], "deny")]


def test_a_rule_moved_by_someone_else_meanwhile_is_not_overwritten(client_as, admin):
    group = granular_group("Billing", ("billing", ["read"], Effect.ALLOW))
    rule = group.rules.get()
    opened = edit_data(rule, area="card")
    services.rule_update(rule=rule, area="customer")  # someone else saves first
    page = client_as(admin).post(f"/settings/groups/{group.pk}/rules/{rule.pk}/edit/", opened)
    assert page.status_code == 409
    assert "changed by someone else" in page.content.decode()
    assert rules_of(group) == [("customer", ["read"], "allow")]


def test_an_edit_that_changes_nothing_records_nothing(admin):
    group = granular_group("Billing", ("billing", ["read"], Effect.ALLOW))
    services.rule_update(actor=admin, rule=group.rules.get(), area="billing", actions=["read"])
    assert entries(group) == []


# --- Editing a user's own rule -----------------------------------------------------------


def test_editing_a_users_own_rule_changes_its_area_and_effect(client_as, admin, staff):
    rule = Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    detail = client_as(admin).get(f"/settings/users/{staff.pk}/").content.decode()
    url = f"/settings/users/{staff.pk}/rules/{rule.pk}/edit/"
    assert url in detail
    response = client_as(admin).post(url, edit_data(rule, area="routing", effect="deny"))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.area, rule.action_list, rule.effect) == ("routing", ["read"], "deny")
    entry = entries(staff)[0]
    assert entry.changes["area"] == {"before": "cdr", "after": "routing"}
    assert "changed from allow read on cdr to deny read on routing" in entry.message


def test_moving_a_users_rule_to_an_area_the_editor_lacks_is_refused(client_as, manager):
    clerk = UserFactory(email="cleo@example.com")
    rule = Rule.objects.create(user=clerk, area="customer", actions=mask_of(["read"]))
    page = client_as(manager).post(
        f"/settings/users/{clerk.pk}/rules/{rule.pk}/edit/", edit_data(rule, area="carrier")
    )
    assert page.status_code == 403
    assert "read on Carriers, which you do not hold yourself" in page.content.decode()
    rule.refresh_from_db()
    assert rule.area == "customer"
    # within what she holds, Mia may move it
    services.rule_update(actor=manager, rule=rule, area="billing")
    rule.refresh_from_db()
    assert rule.area == "billing"


def test_turning_a_users_deny_into_an_allow_the_editor_lacks_is_refused(manager):
    clerk = UserFactory(email="cleo@example.com")
    rule = Rule.objects.create(
        user=clerk, area="billing", actions=mask_of(["delete"]), effect=Effect.DENY
    )
    with pytest.raises(PermissionDenied, match="delete on Billing"):
        services.rule_update(actor=manager, rule=rule, effect="allow")
    rule.refresh_from_db()
    assert rule.effect == "deny"


def test_no_one_edits_their_own_rules(client_as, manager):
    rule = Rule.objects.create(user=manager, area="customer", actions=mask_of(["read"]))
    url = f"/settings/users/{manager.pk}/rules/{rule.pk}/edit/"
    assert client_as(manager).get(url).status_code == 403
    assert client_as(manager).post(url, edit_data(rule, area="billing")).status_code == 403
    rule.refresh_from_db()
    assert rule.area == "customer"


def test_a_rule_of_another_user_is_not_found_under_this_one(client_as, admin, staff, outsider):
    rule = Rule.objects.create(user=outsider, area="cdr", actions=mask_of(["read"]))
    url = f"/settings/users/{staff.pk}/rules/{rule.pk}/edit/"
    assert client_as(admin).get(url).status_code == 404


# --- One access on several areas ---------------------------------------------------------


def test_one_add_gives_the_same_access_to_several_areas(client_as, admin):
    group = GroupFactory(name="Billing desk")
    response = client_as(admin).post(
        f"/settings/groups/{group.pk}/rules/new/",
        {"area": ["billing", "customer", "card"], "access": ["read", "update"], "effect": "allow"},
    )
    assert response.status_code == 302
    assert rules_of(group) == [
        ("billing", ["read", "update"], "allow"),
        ("card", ["read", "update"], "allow"),
        ("customer", ["read", "update"], "allow"),
    ]
    assert sorted(entry.changes["rule"]["area"] for entry in entries(group)) == [
        "billing",
        "card",
        "customer",
    ]


def test_a_multi_area_add_is_all_or_nothing_and_names_the_area_that_failed(client_as, admin):
    group = granular_group("Billing desk", ("card", ["read"], Effect.ALLOW))
    page = client_as(admin).post(
        f"/settings/groups/{group.pk}/rules/new/",
        {"area": ["billing", "customer", "card"], "access": ["read"], "effect": "allow"},
    )
    assert page.status_code == 200
    assert (
        "Area: Nothing was added: the rule on Rate Cards was refused. This group already has "
        "an allow rule on Rate Cards; edit its access instead." in page.content.decode()
    )
    assert rules_of(group) == [("card", ["read"], "allow")]
    assert entries(group) == []


def test_a_multi_area_add_beyond_the_editors_own_access_adds_nothing(
    client_as, manager, customer_readers
):
    with pytest.raises(PermissionDenied, match="the rule on Carriers was refused"):
        services.rule_create_many(
            actor=manager,
            group=customer_readers,
            areas=["user", "billing", "carrier"],
            actions=["read"],
        )
    page = client_as(manager).post(
        f"/settings/groups/{customer_readers.pk}/rules/new/",
        {"area": ["user", "billing", "carrier"], "access": ["read"], "effect": "allow"},
    )
    assert page.status_code == 403
    body = page.content.decode()
    assert "Nothing was added: the rule on Carriers was refused." in body
    assert "read on Carriers, which you do not hold yourself" in body
    assert rules_of(customer_readers) == [("customer", ["read"], "allow")]
    assert entries(customer_readers) == []


def test_a_multi_area_add_needs_an_area(client_as, admin, staff_group):
    with pytest.raises(ValidationError, match="Choose at least one area"):
        services.rule_create_many(group=staff_group, areas=[], actions=["read"])
    page = client_as(admin).post(
        f"/settings/groups/{staff_group.pk}/rules/new/", {"access": ["read"], "effect": "allow"}
    )
    assert "Area: Choose at least one area." in page.content.decode()


def test_one_add_gives_a_user_the_same_rule_on_several_areas(client_as, admin, staff):
    response = client_as(admin).post(
        f"/settings/users/{staff.pk}/rules/new/",
        {"area": ["cdr", "billing"], "access": ["read"], "effect": "deny"},
    )
    assert response.status_code == 302
    assert [(r.area, r.effect) for r in staff.access_rules.order_by("area")] == [
        ("billing", "deny"),
        ("cdr", "deny"),
    ]
    assert len(entries(staff)) == 2


# --- The add form keeps its choices ------------------------------------------------------


def test_after_an_add_the_group_page_keeps_the_choices(client_as, admin):
    group = GroupFactory(name="Billing desk")
    client = client_as(admin)
    response = client.post(
        f"/settings/groups/{group.pk}/rules/new/",
        {"area": ["billing", "cdr"], "access": ["read", "update"], "effect": "deny"},
        follow=True,
    )
    body = response.content.decode()
    assert "2 rules added to Billing desk" in body
    form = body.split('id="add-rule"', 1)[1].split("</form>", 1)[0]
    checked = re.findall(r'name="(\w+)" value="([\w-]+)"[^>]*checked', form)
    assert sorted(checked) == [
        ("access", "read"),
        ("access", "update"),
        ("area", "billing"),
        ("area", "cdr"),
        ("effect", "deny"),
    ]


def test_after_an_add_the_user_page_keeps_the_choices(client_as, admin, staff):
    body = (
        client_as(admin)
        .post(
            f"/settings/users/{staff.pk}/rules/new/",
            {"area": ["cdr"], "access": ["read"], "effect": "allow"},
            follow=True,
        )
        .content.decode()
    )
    form = body.split('id="add-rule"', 1)[1].split("</form>", 1)[0]
    checked = re.findall(r'name="(\w+)" value="([\w-]+)"[^>]*checked', form)
    assert sorted(checked) == [("access", "read"), ("area", "cdr"), ("effect", "allow")]


def test_kept_choices_that_are_not_areas_or_actions_are_ignored(client_as, admin, staff_group):
    body = (
        client_as(admin)
        .get(
            f"/settings/groups/{staff_group.pk}/",
            {"area": ["mars", "cdr"], "access": ["fly"], "effect": "both"},
        )
        .content.decode()
    )
    form = body.split('id="add-rule"', 1)[1].split("</form>", 1)[0]
    checked = re.findall(r'name="(\w+)" value="([\w-]+)"[^>]*checked', form)
    assert sorted(checked) == [("area", "cdr"), ("effect", "allow")]
