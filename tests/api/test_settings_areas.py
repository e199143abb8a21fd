"""Users, groups and the audit log through the API: the same services, so the same rules
as the pages. Nobody grants what they do not hold, nobody edits their own access, the last
administrator stays, and the audit log is read-only and scoped."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import ACTIONS, mask_of
from permissions.checks import CANNOT_MANAGE_ADMINISTRATOR, OWN_ACCESS
from permissions.models import Group, Rule
from permissions.user_services import LAST_ADMINISTRATOR, ONLY_ADMINISTRATORS_MAKE_ADMINISTRATORS
from tests.factories import AdminFactory, GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRETS = {"password", "session_version", "access_version", "api_tokens", "tokens"}
NEW_USER = {
    "email": "nina@example.com",
    "name": "Nina New",
    "password": "a long and unusual passphrase 42",
    "role": "user",
}


def _reason(response) -> str:
    return response.json()["detail"]


# --- Every action of the settings areas: allowed with it, refused without it ---------------


def _settings_attempt(api, area: str, action: str):
    """One request per (area, action) that succeeds for a user holding exactly that action."""
    if area == "user":
        target = UserFactory(email="target@example.com")
        return {
            "read": lambda: api.get(f"/api/cp/user/{target.pk}"),
            "create": lambda: api.post("/api/cp/user", NEW_USER),
            "update": lambda: api.patch(f"/api/cp/user/{target.pk}", {"name": "Renamed"}),
            "delete": lambda: api.delete(f"/api/cp/user/{target.pk}"),
        }[action]()
    if area == "group":
        target = GroupFactory(name="Nothing yet", defaults=0)
        return {
            "read": lambda: api.get(f"/api/cp/group/{target.pk}"),
            "create": lambda: api.post("/api/cp/group", {"name": "Empty", "defaults": []}),
            "update": lambda: api.patch(f"/api/cp/group/{target.pk}", {"name": "Renamed"}),
            "delete": lambda: api.delete(f"/api/cp/group/{target.pk}"),
        }[action]()
    entry = audit.record(audit.Action.COMMAND, actor_label="cron", message="ran")
    return {
        "read": lambda: api.get(f"/api/cp/audit-log/{entry.pk}"),
        "create": lambda: api.post("/api/cp/audit-log", {"message": "x"}),
        "update": lambda: api.patch(f"/api/cp/audit-log/{entry.pk}", {"message": "x"}),
        "delete": lambda: api.delete(f"/api/cp/audit-log/{entry.pk}"),
    }[action]()


ALLOWED = {"read": 200, "create": 201, "update": 200, "delete": 204}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("area", ["user", "group", "audit-log"])
def test_a_settings_area_action_is_allowed_with_it(area, action, api_as, member):
    response = _settings_attempt(api_as(member(allow={area: [action]})), area, action)
    writes_refused = area == "audit-log" and action != "read"
    assert response.status_code == (405 if writes_refused else ALLOWED[action])


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("area", ["user", "group", "audit-log"])
def test_a_settings_area_action_is_refused_without_it(area, action, api_as, member):
    user = member(allow={area: [a for a in ACTIONS if a != action]})
    response = _settings_attempt(api_as(user), area, action)
    assert response.status_code == 403
    assert (response.json()["area"], response.json()["action"]) == (area, action)
    assert AuditEntry.objects.filter(action="refused", actor=user, object_id=area).exists()


# --- Users -------------------------------------------------------------------------------


def test_a_user_is_shown_without_secrets(api_as, admin, staff):
    response = api_as(admin).get(f"/api/cp/user/{staff.pk}")
    assert response.status_code == 200
    shown = response.json()
    assert not SECRETS & set(shown)
    assert staff.password not in response.content.decode()
    assert shown["groups"] == [group.pk for group in staff.access_groups.all()]
    assert (shown["email"], shown["role"], shown["active"]) == (staff.email, "user", True)


def test_an_administrator_creates_a_user_through_the_service(api_as, admin, staff_group):
    response = api_as(admin).post(
        "/api/cp/user",
        {
            **NEW_USER,
            "groups": [staff_group.pk],
            "ip_whitelist": ["10.0.0.", "192.168.0.0/24"],
            "rules": [{"area": "billing", "actions": ["read"], "effect": "allow"}],
        },
    )
    assert response.status_code == 201, response.json()
    nina = User.objects.get(email="nina@example.com")
    assert nina.check_password(NEW_USER["password"])
    assert list(nina.access_groups.all()) == [staff_group]
    assert response.json()["ip_whitelist"] == ["10.0.0.", "192.168.0.0/24"]
    assert [(r.area, r.action_list) for r in nina.access_rules.all()] == [("billing", ["read"])]
    assert AuditEntry.objects.filter(action="create", object_type="user", actor=admin).exists()


def test_creating_a_user_needs_email_password_and_role(api_as, admin):
    response = api_as(admin).post("/api/cp/user", {"name": "Nobody"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "password", "role"}


def test_a_weak_password_is_refused_by_the_validators(api_as, admin):
    response = api_as(admin).post("/api/cp/user", {**NEW_USER, "password": "12345678"})
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert not User.objects.filter(email=NEW_USER["email"]).exists()


def test_a_bad_whitelist_entry_is_a_field_error(api_as, admin):
    response = api_as(admin).post("/api/cp/user", {**NEW_USER, "ip_whitelist": ["10.0.0.0/33"]})
    assert response.status_code == 400
    assert "ip_whitelist" in response.json()["errors"]


def test_a_non_administrator_cannot_create_an_administrator(api_as, manager):
    response = api_as(manager).post("/api/cp/user", {**NEW_USER, "role": "administrator"})
    assert response.status_code == 403
    assert _reason(response) == ONLY_ADMINISTRATORS_MAKE_ADMINISTRATORS
    assert (response.json()["area"], response.json()["action"]) == ("user", "create")
    assert not User.objects.filter(email=NEW_USER["email"]).exists()


def test_a_non_administrator_cannot_make_someone_an_administrator(api_as, manager, outsider):
    response = api_as(manager).patch(f"/api/cp/user/{outsider.pk}", {"role": "administrator"})
    assert response.status_code == 403
    assert _reason(response) == ONLY_ADMINISTRATORS_MAKE_ADMINISTRATORS
    outsider.refresh_from_db()
    assert outsider.role == Role.USER


def test_a_non_administrator_cannot_grant_a_group_they_do_not_hold(
    api_as, manager, outsider, staff_group
):
    """The staff group grants routing, which Mia does not hold."""
    response = api_as(manager).patch(f"/api/cp/user/{outsider.pk}", {"groups": [staff_group.pk]})
    assert response.status_code == 403
    assert "Routing" in _reason(response)
    assert "do not hold" in _reason(response)
    assert not outsider.access_groups.exists()


def test_a_non_administrator_cannot_give_a_rule_they_do_not_hold(api_as, manager, outsider):
    response = api_as(manager).patch(
        f"/api/cp/user/{outsider.pk}",
        {"rules": [{"area": "carrier", "actions": ["read"], "effect": "allow"}]},
    )
    assert response.status_code == 403
    assert not outsider.access_rules.exists()


def test_a_non_administrator_grants_what_they_hold(api_as, manager, outsider, manager_group):
    response = api_as(manager).patch(
        f"/api/cp/user/{outsider.pk}",
        {"rules": [{"area": "customer", "actions": ["read", "update"], "effect": "allow"}]},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["rules"][0]["actions"] == ["read", "update"]


def test_nobody_but_an_administrator_edits_their_own_groups(api_as, manager, manager_group):
    other = GroupFactory(name="Readers", defaults=mask_of(["read"]))
    response = api_as(manager).patch(
        f"/api/cp/user/{manager.pk}", {"groups": [manager_group.pk, other.pk]}
    )
    assert response.status_code == 403
    assert _reason(response) == OWN_ACCESS
    assert list(manager.access_groups.all()) == [manager_group]


def test_nobody_but_an_administrator_edits_their_own_rules(api_as, manager):
    response = api_as(manager).patch(
        f"/api/cp/user/{manager.pk}",
        {"rules": [{"area": "customer", "actions": ["read"], "effect": "deny"}]},
    )
    assert response.status_code == 403
    assert _reason(response) == OWN_ACCESS


def test_a_user_may_change_their_own_name(api_as, manager):
    response = api_as(manager).patch(f"/api/cp/user/{manager.pk}", {"name": "Mia M."})
    assert response.status_code == 200
    manager.refresh_from_db()
    assert manager.name == "Mia M."


def test_a_non_administrator_cannot_touch_an_administrator(api_as, manager, admin):
    response = api_as(manager).patch(f"/api/cp/user/{admin.pk}", {"name": "Renamed"})
    assert response.status_code == 403
    assert _reason(response) == CANNOT_MANAGE_ADMINISTRATOR
    assert api_as(manager).delete(f"/api/cp/user/{admin.pk}").status_code == 403
    assert User.objects.filter(pk=admin.pk, name="Ada Admin").exists()


def test_the_last_administrator_cannot_be_demoted(api_as, admin):
    response = api_as(admin).patch(f"/api/cp/user/{admin.pk}", {"role": "user"})
    assert response.status_code == 409
    assert _reason(response) == LAST_ADMINISTRATOR.format(user=admin.display_name)
    admin.refresh_from_db()
    assert admin.role == Role.ADMINISTRATOR


def test_an_administrator_is_demoted_while_another_remains(api_as, admin):
    other = AdminFactory(email="otto@example.com")
    response = api_as(admin).patch(f"/api/cp/user/{other.pk}", {"role": "user"})
    assert response.status_code == 200
    other.refresh_from_db()
    assert other.role == Role.USER


def test_nobody_deletes_or_deactivates_themselves(api_as, admin):
    AdminFactory(email="otto@example.com")
    api = api_as(admin)
    assert api.delete(f"/api/cp/user/{admin.pk}").status_code == 403
    assert api.patch(f"/api/cp/user/{admin.pk}", {"active": False}).status_code == 403
    admin.refresh_from_db()
    assert admin.is_active


def test_a_refused_part_leaves_the_whole_request_unsaved(api_as, manager, outsider, staff_group):
    response = api_as(manager).patch(
        f"/api/cp/user/{outsider.pk}", {"name": "Changed", "groups": [staff_group.pk]}
    )
    assert response.status_code == 403
    outsider.refresh_from_db()
    assert outsider.name == "Olly Outsider"


def test_deactivating_and_activating_a_user(api_as, admin, staff):
    api = api_as(admin)
    assert api.patch(f"/api/cp/user/{staff.pk}", {"active": False}).json()["active"] is False
    staff.refresh_from_db()
    assert not staff.is_active
    assert api.patch(f"/api/cp/user/{staff.pk}", {"active": True}).json()["active"] is True


def test_setting_someone_elses_password(api_as, admin, staff):
    response = api_as(admin).patch(
        f"/api/cp/user/{staff.pk}", {"password": "another fine passphrase"}
    )
    assert response.status_code == 200
    staff.refresh_from_db()
    assert staff.check_password("another fine passphrase")


def test_own_password_is_not_set_here(api_as, admin):
    response = api_as(admin).patch(
        f"/api/cp/user/{admin.pk}", {"password": "another fine passphrase"}
    )
    assert response.status_code == 403
    assert "current one" in _reason(response)


def test_a_stale_updated_at_refuses_the_change(api_as, admin, staff):
    response = api_as(admin).patch(
        f"/api/cp/user/{staff.pk}", {"name": "Late", "updated_at": "2000-01-01T00:00:00Z"}
    )
    assert response.status_code == 409
    staff.refresh_from_db()
    assert staff.name == "Sam Staff"


def test_saving_a_whitelist_that_locks_yourself_out_asks_first(api_as, admin):
    api = api_as(admin)
    refused = api.patch(f"/api/cp/user/{admin.pk}", {"ip_whitelist": ["10.9.9.9"]})
    assert refused.status_code == 400
    assert "confirm_lockout" in refused.json()["errors"]["ip_whitelist"][0]
    kept = api.patch(f"/api/cp/user/{admin.pk}", {"ip_whitelist": ["127.0.0.1", "10.9.9.9"]})
    assert kept.status_code == 200


def test_a_resellers_user_sees_and_creates_only_their_resellers_users(
    api_as, member, reseller, other_reseller
):
    rosa = member(allow={"user": ACTIONS}, reseller=reseller)
    theirs = UserFactory(email="bob@bluewave.example", reseller=other_reseller)
    api = api_as(rosa)
    listed = {row["email"] for row in api.get("/api/cp/user").json()["results"]}
    assert rosa.email in listed
    assert theirs.email not in listed
    assert api.get(f"/api/cp/user/{theirs.pk}").status_code == 404
    assert api.patch(f"/api/cp/user/{theirs.pk}", {"name": "x"}).status_code == 404
    created = api.post("/api/cp/user", {**NEW_USER, "reseller": other_reseller.pk})
    assert created.status_code == 403
    created = api.post("/api/cp/user", NEW_USER)
    assert created.status_code == 201
    assert created.json()["reseller"] == reseller.pk


def test_users_are_found_by_search(api_as, admin, staff, outsider):
    found = api_as(admin).get("/api/cp/user?q=staff").json()["results"]
    assert [row["email"] for row in found] == [staff.email]


# --- Groups ------------------------------------------------------------------------------


def test_an_administrator_creates_a_group_with_rules(api_as, admin):
    response = api_as(admin).post(
        "/api/cp/group",
        {
            "name": "Billing desk",
            "rules": [
                {"area": "billing", "actions": ["read", "update"]},
                {"area": "customer", "actions": ["read"], "effect": "allow"},
                {"area": "billing", "actions": ["delete"], "effect": "deny"},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    group = Group.objects.get(name="Billing desk")
    assert response.json()["granular"] is True
    assert response.json()["defaults"] == list(ACTIONS)
    assert {(r.area, r.effect, tuple(r.action_list)) for r in group.rules.all()} == {
        ("billing", "allow", ("read", "update")),
        ("customer", "allow", ("read",)),
        ("billing", "deny", ("delete",)),
    }


def test_a_rules_list_replaces_the_groups_rules(api_as, admin, staff_group):
    response = api_as(admin).patch(
        f"/api/cp/group/{staff_group.pk}",
        {"rules": [{"area": "routing", "actions": ["read"]}, {"area": "cdr", "actions": ["read"]}]},
    )
    assert response.status_code == 200
    assert {(r.area, r.actions) for r in staff_group.rules.all()} == {
        ("routing", mask_of(["read"])),
        ("cdr", mask_of(["read"])),
    }


def test_a_rule_listed_twice_is_refused(api_as, admin):
    response = api_as(admin).post(
        "/api/cp/group",
        {"name": "Twice", "rules": [{"area": "cdr", "actions": ["read"]}] * 2},
    )
    assert response.status_code == 400
    assert "listed twice" in response.json()["errors"]["rules"][0]
    assert not Group.objects.filter(name="Twice").exists()


def test_a_non_administrator_cannot_create_a_group_granting_more_than_they_hold(api_as, manager):
    """Default permissions apply to every area, including ones Mia cannot touch."""
    response = api_as(manager).post("/api/cp/group", {"name": "Everything"})
    assert response.status_code == 403
    assert "do not hold" in _reason(response)
    assert not Group.objects.filter(name="Everything").exists()


def test_a_non_administrator_creates_a_group_within_what_they_hold(api_as, manager):
    response = api_as(manager).post(
        "/api/cp/group",
        {
            "name": "Customer desk",
            "defaults": [],
            "rules": [{"area": "customer", "actions": ["read"]}],
        },
    )
    assert response.status_code == 201, response.json()


def test_a_non_administrator_cannot_add_a_rule_they_do_not_hold(api_as, manager):
    group = GroupFactory(name="Readers", defaults=0)
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    response = api_as(manager).patch(
        f"/api/cp/group/{group.pk}",
        {
            "rules": [
                {"area": "customer", "actions": ["read"]},
                {"area": "routing", "actions": ["read"]},
            ]
        },
    )
    assert response.status_code == 403
    assert list(group.rules.values_list("area", flat=True)) == ["customer"]


def test_a_non_administrator_cannot_lift_a_deny(api_as, manager):
    group = GroupFactory(name="No carriers")
    Rule.objects.create(group=group, area="carrier", actions=mask_of(["read"]), effect="deny")
    response = api_as(manager).patch(f"/api/cp/group/{group.pk}", {"rules": []})
    assert response.status_code == 403
    assert group.rules.filter(effect="deny").exists()


def test_deleting_a_group(api_as, admin):
    group = GroupFactory(name="Old")
    assert api_as(admin).delete(f"/api/cp/group/{group.pk}").status_code == 204
    assert not Group.objects.filter(pk=group.pk).exists()


def test_a_group_lists_the_members_the_actor_may_see(api_as, member, reseller, other_reseller):
    group = GroupFactory(name="Shared")
    ours = UserFactory(reseller=reseller, groups=[group])
    theirs = UserFactory(reseller=other_reseller, groups=[group])
    rosa = member(allow={"group": ["read"]}, reseller=reseller)
    shown = api_as(rosa).get(f"/api/cp/group/{group.pk}").json()
    assert shown["members"] == [ours.pk]
    assert theirs.pk not in shown["members"]


def test_a_group_name_is_validated_like_on_the_page(api_as, admin, staff_group):
    response = api_as(admin).post("/api/cp/group", {"name": staff_group.name.upper()})
    assert response.status_code == 400
    assert "already exists" in str(response.json()["errors"])


# --- Audit log ---------------------------------------------------------------------------


def test_the_audit_log_is_read_only(api_as, admin):
    entry = audit.record(audit.Action.LOGIN, actor=admin, message="Signed in.")
    api = api_as(admin)
    assert api.get(f"/api/cp/audit-log/{entry.pk}").json()["message"] == "Signed in."
    for method in ("PUT", "PATCH", "DELETE"):
        assert (
            api.call(method, f"/api/cp/audit-log/{entry.pk}", {"message": "x"}).status_code == 405
        )
    assert api.post("/api/cp/audit-log", {"message": "x"}).status_code == 405
    assert AuditEntry.objects.get(pk=entry.pk).message == "Signed in."


def test_a_resellers_user_reads_only_their_resellers_entries(
    api_as, member, reseller, other_reseller
):
    ours = audit.record(audit.Action.LOGIN, actor_label="x", reseller=reseller, message="ours")
    theirs = audit.record(
        audit.Action.LOGIN, actor_label="y", reseller=other_reseller, message="theirs"
    )
    rosa = member(allow={"audit-log": ["read"]}, reseller=reseller)
    api = api_as(rosa)
    messages = [
        row["message"] for row in api.get("/api/cp/audit-log?action=login").json()["results"]
    ]
    assert messages == ["ours"]
    assert api.get(f"/api/cp/audit-log/{theirs.pk}").status_code == 404
    assert api.get(f"/api/cp/audit-log/{ours.pk}").status_code == 200


def test_the_audit_log_pages_by_cursor_and_filters(api_as, admin):
    for n in range(5):
        audit.record(audit.Action.COMMAND, actor_label="cron", message=f"run {n}")
    api = api_as(admin)
    first = api.get("/api/cp/audit-log?action=command&page_size=2").json()
    assert [row["message"] for row in first["results"]] == ["run 4", "run 3"]
    second = api.get(first["next"].removeprefix("http://testserver")).json()
    assert [row["message"] for row in second["results"]] == ["run 2", "run 1"]
    back = api.get(second["previous"].removeprefix("http://testserver")).json()
    assert [row["message"] for row in back["results"]] == ["run 4", "run 3"]


def test_a_bad_audit_filter_is_a_400(api_as, admin):
    response = api_as(admin).get(
        "/api/cp/audit-log?date_from=2026-02-02&date_to=2026-02-01&older=zz"
    )
    assert response.status_code == 400
    assert {"date_to", "older"} <= set(response.json()["errors"])
