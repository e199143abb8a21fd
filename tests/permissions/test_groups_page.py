"""Setup > Settings > Groups: the list, creating (and Create Default Reseller), the group
page with its "Add Group Permission" table, editing, deleting, rules."""

import re

import pytest

from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions import services
from permissions.models import Effect, Group, Rule
from permissions.resolver import effective_permissions
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

CRUD = ["create", "read", "update", "delete"]


def group_entries(group) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="group", object_id=str(group.pk)))


# --- The list ----------------------------------------------------------------------------


def test_groups_page_lists_name_defaults_rules_and_members(client_as, admin, staff):
    GroupFactory(name="Read only", defaults=mask_of(["read"]))
    body = client_as(admin).get("/settings/groups/").content.decode()
    assert "Network Services Engineers" in body and "Read only" in body
    assert ">granular<" in body  # staff group has allow rules
    assert '<span class="pill pill--ok">read</span>' in body
    assert "<td>2</td>" in body and "<td>1</td>" in body  # two rules, one member


def test_groups_page_appears_in_the_navigation(client_as, admin):
    body = client_as(admin).get("/").content.decode()
    assert 'href="/settings/groups/"' in body and 'href="/settings/users/"' in body


def test_groups_page_needs_read_on_groups(client_as, outsider):
    assert client_as(outsider).get("/settings/groups/").status_code == 403


def test_groups_page_refuses_post(client_as, admin):
    assert client_as(admin).post("/settings/groups/").status_code == 405


# --- Create ------------------------------------------------------------------------------


def test_new_group_has_all_four_default_permissions_ticked(client_as, admin):
    body = client_as(admin).get("/settings/groups/new/").content.decode()
    for action in CRUD:
        assert f'value="{action}"' in body
    assert body.count("checked") == 4


def test_administrator_creates_a_group_with_chosen_defaults(client_as, admin):
    response = client_as(admin).post(
        "/settings/groups/new/", {"name": " Billing team ", "defaults": ["create", "read"]}
    )
    assert response.status_code == 302
    group = Group.objects.get(name="Billing team")
    assert group.default_actions == ["create", "read"]
    (entry,) = group_entries(group)
    assert entry.action == "create" and entry.actor == admin


def test_group_names_are_unique_whatever_their_case(client_as, admin, staff_group):
    page = client_as(admin).post(
        "/settings/groups/new/", {"name": "network services engineers", "defaults": CRUD}
    )
    assert "A group with this name already exists." in page.content.decode()
    assert Group.objects.count() == 1


def test_creating_groups_needs_create_on_groups(client_as, reseller_user):
    client = client_as(reseller_user)  # read everywhere
    assert client.get("/settings/groups/new/").status_code == 403
    assert client.post("/settings/groups/new/", {"name": "x"}).status_code == 403


def test_new_group_page_refuses_put(client_as, admin):
    assert client_as(admin).put("/settings/groups/new/").status_code == 405


# --- Create Default Reseller -------------------------------------------------------------


def test_create_default_reseller_names_groups_reseller_then_reseller_2(client_as, admin):
    client = client_as(admin)
    assert client.post("/settings/groups/default-reseller/").status_code == 302
    assert client.post("/settings/groups/default-reseller/").status_code == 302
    assert client.post("/settings/groups/default-reseller/").status_code == 302
    names = sorted(Group.objects.values_list("name", flat=True))
    assert names == ["Reseller", "Reseller 2", "Reseller 3"]


def test_create_default_reseller_takes_the_first_free_name(admin):
    GroupFactory(name="reseller")
    assert services.group_create_default_reseller(actor=admin).name == "Reseller 2"


def test_default_reseller_group_holds_the_preset_and_nothing_on_settings(admin):
    group = services.group_create_default_reseller(actor=admin)
    member = UserFactory(groups=[group])
    access = effective_permissions(member)
    for area in ("customer", "contact", "routing", "support-ticket"):
        assert access.actions(area) == CRUD
    for area in ("card", "billing", "cdr"):
        assert access.actions(area) == ["read"]
    for area in ("user", "group", "reseller", "audit-log", "carrier"):
        assert access.actions(area) == []
    assert group.rules.filter(effect=Effect.ALLOW).count() == 7
    assert group_entries(group)[0].changes["rules"]["after"][0] == "allow read on billing"


def test_create_default_reseller_is_a_post_button(client_as, admin):
    assert client_as(admin).get("/settings/groups/default-reseller/").status_code == 405
    body = client_as(admin).get("/settings/users/").content.decode()
    assert 'action="/settings/groups/default-reseller/"' in body


def test_create_default_reseller_needs_create_on_groups(client_as, reseller_user):
    page = client_as(reseller_user).post("/settings/groups/default-reseller/")
    assert page.status_code == 403
    assert not Group.objects.filter(name__istartswith="Reseller ").exists()


# --- The group page ----------------------------------------------------------------------


def test_group_page_shows_the_permission_table(client_as, admin, staff_group):
    Rule.objects.create(
        group=staff_group, area="billing", actions=mask_of(["delete"]), effect=Effect.DENY
    )
    body = client_as(admin).get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert "Add Group Permission" in body
    for heading in ("Path", "Access", "Effect", "Action"):
        assert f'<th scope="col">{heading}</th>' in body
    assert "<code>/api/cp/routing</code>" in body and "<code>/api/cp/billing</code>" in body
    assert "✗ deny" in body and "✓ allow" in body
    rule = staff_group.rules.get(area="routing")
    assert f"/settings/groups/{staff_group.pk}/rules/{rule.pk}/edit/" in body
    assert f"/settings/groups/{staff_group.pk}/rules/{rule.pk}/delete/" in body


def test_group_page_offers_every_registered_area(client_as, admin, staff_group):
    body = client_as(admin).get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert re.search(
        r'<input type="checkbox" name="area" value="support-ticket"[^>]*>\s*'
        r"Support Tickets \(/api/cp/support-ticket\)</label>",
        body,
    )
    assert 'name="area" value="audit-log"' in body


def test_group_page_says_granular_when_allow_rules_nullify_the_defaults(
    client_as, admin, staff_group
):
    body = client_as(admin).get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert "Granular mode" in body and "nullified" in body


def test_group_page_says_defaults_mode_without_allow_rules(client_as, admin):
    group = GroupFactory(name="Readers", defaults=mask_of(["read"]))
    body = client_as(admin).get(f"/settings/groups/{group.pk}/").content.decode()
    assert "Defaults mode" in body and "every area" in body


def test_group_page_lists_members(client_as, admin, staff, staff_group):
    body = client_as(admin).get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert "Sam Staff" in body and f"/settings/users/{staff.pk}/" in body


def test_group_page_shows_a_resellers_user_only_their_resellers_members(
    client_as, reseller_user, staff, staff_group
):
    colleague = UserFactory(name="Rob Reseller", reseller=reseller_user.reseller)
    staff_group.members.add(colleague)
    body = client_as(reseller_user).get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert "Rob Reseller" in body and "Sam Staff" not in body


def test_group_page_hides_editing_from_readers(client_as, reseller_user, staff_group):
    body = client_as(reseller_user).get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert "Add a row" not in body and "/edit/" not in body


def test_group_page_needs_read_and_refuses_post(client_as, admin, outsider, staff_group):
    assert client_as(outsider).get(f"/settings/groups/{staff_group.pk}/").status_code == 403
    assert client_as(admin).post(f"/settings/groups/{staff_group.pk}/").status_code == 405


def test_unknown_group_is_not_found(client_as, admin):
    assert client_as(admin).get("/settings/groups/999999/").status_code == 404


# --- Rules -------------------------------------------------------------------------------


def test_adding_a_row_to_a_defaults_group_makes_it_granular(client_as, admin):
    group = GroupFactory(name="Billing team")
    response = client_as(admin).post(
        f"/settings/groups/{group.pk}/rules/new/",
        {"area": "billing", "access": ["read", "update"], "effect": "allow"},
    )
    assert response.status_code == 302
    rule = group.rules.get()
    assert (rule.area, rule.action_list) == ("billing", ["read", "update"])
    body = client_as(admin).get(f"/settings/groups/{group.pk}/").content.decode()
    assert "Granular mode" in body
    assert group_entries(group)[0].changes["rule"]["after"] == ["read", "update"]


def test_a_row_without_access_is_refused_naming_the_field(client_as, admin, staff_group):
    page = client_as(admin).post(
        f"/settings/groups/{staff_group.pk}/rules/new/", {"area": "billing", "effect": "allow"}
    )
    assert "Access: Choose at least one of create, read, update, delete." in page.content.decode()


def test_an_unknown_area_is_refused(client_as, admin, staff_group):
    page = client_as(admin).post(
        f"/settings/groups/{staff_group.pk}/rules/new/",
        {"area": "mars", "access": ["read"], "effect": "allow"},
    )
    assert "Area: Select a valid choice." in page.content.decode()


def test_a_second_row_with_the_same_area_and_effect_is_refused(client_as, admin, staff_group):
    page = client_as(admin).post(
        f"/settings/groups/{staff_group.pk}/rules/new/",
        {"area": "routing", "access": ["read"], "effect": "allow"},
    )
    assert "edit its access instead" in page.content.decode()
    assert staff_group.rules.get(area="routing").action_list == CRUD


def test_editing_a_rules_access(client_as, admin, staff_group):
    rule = staff_group.rules.get(area="carrier")
    client = client_as(admin)
    form = client.get(f"/settings/groups/{staff_group.pk}/rules/{rule.pk}/edit/")
    assert "/api/cp/carrier" in form.content.decode()
    response = client.post(
        f"/settings/groups/{staff_group.pk}/rules/{rule.pk}/edit/",
        {"access": ["read", "update"], "expected_actions": rule.actions},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.action_list == ["read", "update"]


def test_a_rule_edited_by_someone_else_meanwhile_is_not_overwritten(client_as, admin, staff_group):
    rule = staff_group.rules.get(area="carrier")
    opened_with = rule.actions
    services.rule_update(rule=rule, actions=["read", "delete"])  # someone else saves first
    page = client_as(admin).post(
        f"/settings/groups/{staff_group.pk}/rules/{rule.pk}/edit/",
        {"access": ["read", "update"], "expected_actions": opened_with},
    )
    assert page.status_code == 409
    assert "changed by someone else" in page.content.decode()
    rule.refresh_from_db()
    assert rule.action_list == ["read", "delete"]


def test_deleting_a_rule_asks_first(client_as, admin, staff_group):
    rule = staff_group.rules.get(area="carrier")
    client = client_as(admin)
    assert (
        "Delete rule"
        in client.get(f"/settings/groups/{staff_group.pk}/rules/{rule.pk}/delete/").content.decode()
    )
    assert Rule.objects.filter(pk=rule.pk).exists()
    assert (
        client.post(f"/settings/groups/{staff_group.pk}/rules/{rule.pk}/delete/").status_code == 302
    )
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_deleting_the_last_allow_rule_warns_that_the_defaults_come_back(client_as, admin):
    group = GroupFactory(name="Desk")
    rule = Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    body = client_as(admin).get(f"/settings/groups/{group.pk}/rules/{rule.pk}/delete/")
    assert "last allow rule" in body.content.decode()
    assert "create, read, update, delete on every area" in body.content.decode()


def test_rule_pages_need_update_on_groups(client_as, reseller_user, staff_group):
    rule = staff_group.rules.first()
    client = client_as(reseller_user)
    base = f"/settings/groups/{staff_group.pk}/rules"
    assert client.post(f"{base}/new/", {}).status_code == 403
    assert client.post(f"{base}/{rule.pk}/edit/", {}).status_code == 403
    assert client.post(f"{base}/{rule.pk}/delete/").status_code == 403
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_rule_pages_refuse_put(client_as, admin, staff_group):
    rule = staff_group.rules.first()
    client = client_as(admin)
    base = f"/settings/groups/{staff_group.pk}/rules"
    assert client.put(f"{base}/new/").status_code == 405
    assert client.put(f"{base}/{rule.pk}/edit/").status_code == 405
    assert client.put(f"{base}/{rule.pk}/delete/").status_code == 405


def test_a_rule_of_another_group_is_not_found_under_this_one(client_as, admin, staff_group):
    other = GroupFactory()
    rule = staff_group.rules.first()
    assert (
        client_as(admin).get(f"/settings/groups/{other.pk}/rules/{rule.pk}/edit/").status_code
        == 404
    )


# --- Edit and delete ---------------------------------------------------------------------


def test_editing_a_group_name_and_defaults(client_as, admin):
    group = GroupFactory(name="Desk")
    client = client_as(admin)
    form = client.get(f"/settings/groups/{group.pk}/edit/").content.decode()
    assert 'name="updated_at"' in form
    response = client.post(
        f"/settings/groups/{group.pk}/edit/",
        {"name": "Front desk", "defaults": ["read"], "updated_at": group.updated_at.isoformat()},
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.name, group.default_actions) == ("Front desk", ["read"])
    assert group_entries(group)[0].changes == {
        "name": {"before": "Desk", "after": "Front desk"},
        "defaults": {"before": CRUD, "after": ["read"]},
    }


def test_second_of_two_concurrent_group_edits_is_refused(client_as, admin):
    group = GroupFactory(name="Desk")
    version = group.updated_at.isoformat()
    client = client_as(admin)
    first = {"name": "Front desk", "defaults": CRUD, "updated_at": version}
    second = {"name": "Back desk", "defaults": ["read"], "updated_at": version}
    assert client.post(f"/settings/groups/{group.pk}/edit/", first).status_code == 302
    refused = client.post(f"/settings/groups/{group.pk}/edit/", second)
    assert refused.status_code == 409
    assert "changed by someone else" in refused.content.decode()
    group.refresh_from_db()
    assert (group.name, group.default_actions) == ("Front desk", CRUD)


def test_deleting_a_group_asks_first_and_records_its_members(client_as, admin, staff, staff_group):
    client = client_as(admin)
    confirm = client.get(f"/settings/groups/{staff_group.pk}/delete/")
    assert "1 member will lose" in confirm.content.decode()
    assert client.post(f"/settings/groups/{staff_group.pk}/delete/").status_code == 302
    assert not Group.objects.filter(pk=staff_group.pk).exists()
    assert not effective_permissions(type(staff).objects.get(pk=staff.pk)).can("routing", "read")
    entry = AuditEntry.objects.get(object_type="group", action="delete")
    assert entry.changes["members"]["removed"] == ["sam@example.com"]


def test_edit_and_delete_need_their_permissions_and_methods(client_as, admin, reseller_user):
    group = GroupFactory()
    reader = client_as(reseller_user)
    assert reader.get(f"/settings/groups/{group.pk}/edit/").status_code == 403
    assert reader.post(f"/settings/groups/{group.pk}/delete/").status_code == 403
    client = client_as(admin)
    assert client.put(f"/settings/groups/{group.pk}/edit/").status_code == 405
    assert client.put(f"/settings/groups/{group.pk}/delete/").status_code == 405


def test_groups_are_paginated_with_counts_per_group(client_as, admin):
    from controlpanel.kit.areas import mask_of
    from permissions.models import Rule
    from permissions.selectors import GROUPS_PER_PAGE
    from tests.factories import GroupFactory, UserFactory

    groups = [GroupFactory(name=f"Team {i:02d}") for i in range(GROUPS_PER_PAGE + 3)]
    Rule.objects.create(group=groups[0], area="billing", actions=mask_of(["read"]))
    Rule.objects.create(group=groups[0], area="cdr", actions=mask_of(["read"]), effect="deny")
    UserFactory(groups=[groups[0]])
    UserFactory(groups=[groups[0], groups[1]])
    client = client_as(admin)
    first = client.get("/settings/groups/").content.decode()
    assert "Team 00" in first and f"Team {GROUPS_PER_PAGE:02d}" not in first
    assert "Page 1 of 2" in first
    row = first.split("Team 00", 1)[1].split("</tr>", 1)[0]
    assert "granular" in row and "<td>2</td>" in row  # 2 rules, 2 members
    second = client.get("/settings/groups/?page=2").content.decode()
    assert f"Team {GROUPS_PER_PAGE:02d}" in second
    users_page = client.get("/settings/users/").content.decode()
    assert f"All {GROUPS_PER_PAGE + 3} groups" in users_page
