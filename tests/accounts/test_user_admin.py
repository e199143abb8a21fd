"""Setup > Settings > Users: the users page, creating and editing users, passwords,
deactivating and deleting, users' own rules, as administrators and user managers see it."""

import datetime
import re
from html import unescape

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions.models import Effect, Rule
from tests.factories import GroupFactory, ResellerFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much longer passphrase 2026"


def entries_for(user) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="user", object_id=str(user.pk)))


def new_user_data(**overrides) -> dict:
    data = {
        "name": "Nina New",
        "email": "nina@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "role": "user",
        "timezone": "Europe/London",
        "ip_whitelist": "",
    }
    data.update(overrides)
    return data


def edit_data(user, **overrides) -> dict:
    data = {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "groups": [g.pk for g in user.access_groups.all()],
        "reseller": user.reseller_id or "",
        "timezone": user.timezone,
        "ip_whitelist": "\n".join(item["entry"] for item in user.ip_whitelist),
        "updated_at": user.updated_at.isoformat(),
    }
    if user.shared_ticket:
        data["shared_ticket"] = "on"
    data.update(overrides)
    return data


def signed_in_elsewhere(user) -> Client:
    other = Client()
    other.force_login(user)
    assert other.get("/accounts/profile/").status_code == 200
    return other


# --- The users page ----------------------------------------------------------------------


def test_users_page_lists_users_with_groups_role_reseller_and_state(
    client_as, admin, staff, reseller_user
):
    staff.is_active = False
    staff.save()
    page = client_as(admin).get("/settings/users/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "sam@example.com" in body and "Network Services Engineers" in body
    assert "Acme Telecom" in body  # Rita's reseller
    assert "✗ deactivated" in body and "Administrator" in body
    assert "never" in body  # Sam never signed in


def test_users_page_shows_the_groups_column(client_as, admin, staff_group):
    body = client_as(admin).get("/settings/users/").content.decode()
    assert 'id="groups-heading"' in body
    assert "Network Services Engineers" in body
    assert "Create Default Reseller" in body


def test_users_page_search_matches_name_email_and_group(client_as, admin, staff, outsider):
    client = client_as(admin)
    by_group = client.get("/settings/users/", {"q": "network services"}).content.decode()
    assert "sam@example.com" in by_group and "olly@example.com" not in by_group
    by_name = client.get("/settings/users/", {"q": "olly"}).content.decode()
    assert "olly@example.com" in by_name and "sam@example.com" not in by_name


def test_users_page_is_paginated(client_as, admin):
    UserFactory.create_batch(30)
    client = client_as(admin)
    first = client.get("/settings/users/").content.decode()
    assert "31 users" in first
    assert 'rel="next"' in first and 'rel="last"' in first and 'rel="prev"' not in first
    following = re.search(r'<a href="([^"]+)" rel="next">', first).group(1)
    second = client.get(unescape(following)).content.decode()
    assert 'rel="prev"' in second and 'rel="first"' in second and 'rel="next"' not in second


def test_users_page_refuses_post(client_as, admin):
    assert client_as(admin).post("/settings/users/").status_code == 405


def test_users_page_needs_read_on_users(client_as, outsider):
    page = client_as(outsider).get("/settings/users/")
    assert page.status_code == 403
    assert "read" in page.content.decode()


def test_users_page_query_count_does_not_grow_with_users(
    client_as, admin, django_assert_max_num_queries
):
    groups = [GroupFactory() for _ in range(4)]
    reseller = ResellerFactory()
    client = client_as(admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/settings/users/").status_code == 200
        return len(captured)

    for i in range(5):
        UserFactory(groups=groups[: 1 + i % 4], reseller=reseller if i % 2 else None)
    queries()  # warms the navigation's cached "review due" date (permissions.review_schedule)
    few = queries()
    for i in range(25):
        UserFactory(groups=groups[: 1 + i % 4], reseller=reseller if i % 2 else None)
    assert User.objects.count() == 31
    # session, user, users count + page, their groups, reseller; the filters' resellers and
    # groups; the actor re-read for the Edit links; groups count + page, their rule and
    # member counts: bounded whatever the number of users and groups
    with django_assert_max_num_queries(13):
        client.get("/settings/users/")
    assert queries() == few


def test_a_resellers_user_sees_only_their_resellers_users(client_as, reseller_user, staff):
    colleague = UserFactory(email="rob@acme.example", reseller=reseller_user.reseller)
    body = client_as(reseller_user).get("/settings/users/").content.decode()
    assert colleague.email in body
    assert staff.email not in body


def grant_user_management(user) -> None:
    group = GroupFactory(name="Reseller user admins", defaults=mask_of(["read"]))
    Rule.objects.create(
        group=group, area="user", actions=mask_of(["create", "read", "update", "delete"])
    )
    user.access_groups.add(group)


def test_another_resellers_user_is_not_found(client_as, reseller_user, staff):
    grant_user_management(reseller_user)
    rule = Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    client = client_as(reseller_user)
    for path in ("", "edit/", "password/", "access/", "deactivate/", "activate/", "delete/"):
        assert client.get(f"/settings/users/{staff.pk}/{path}").status_code == 404, path
        assert client.post(f"/settings/users/{staff.pk}/{path}").status_code in (404, 405), path
    assert client.post(f"/settings/users/{staff.pk}/rules/new/").status_code == 404
    assert client.post(f"/settings/users/{staff.pk}/rules/{rule.pk}/delete/").status_code == 404
    staff.refresh_from_db()
    assert staff.is_active and Rule.objects.filter(pk=rule.pk).exists()


def test_a_resellers_user_creates_users_of_their_own_reseller_only(client_as, reseller_user):
    grant_user_management(reseller_user)
    client = client_as(reseller_user)
    form = client.get("/settings/users/new/").content.decode()
    assert 'name="reseller"' not in form  # forced, not offered
    assert 'value="administrator"' not in form
    other = ResellerFactory(name="Other Telecom")
    response = client.post("/settings/users/new/", new_user_data(reseller=other.pk))
    assert response.status_code == 302
    created = User.objects.get(email="nina@example.com")
    assert created.reseller == reseller_user.reseller


# --- Create ------------------------------------------------------------------------------


def test_new_user_form_preselects_administrator_and_warns(client_as, admin):
    body = client_as(admin).get("/settings/users/new/").content.decode()
    assert re.search(r'value="administrator"[^>]*checked', body)
    assert not re.search(r'value="user"[^>]*checked', body)
    assert "full access to every area, present and future" in body


def test_new_user_form_shows_password_requirements_on_hover_and_focus(client_as, admin):
    body = client_as(admin).get("/settings/users/new/").content.decode()
    assert 'title="Your password can' in body
    (first,) = re.findall(r'<input type="password" name="password1"[^>]*>', body)
    assert re.search(r'aria-describedby="[^"]*password-requirements', first)
    assert 'class="requirements" id="password-requirements"' in body
    assert "must contain at least 12 characters" in body


def test_new_user_form_offers_time_zones_to_search(client_as, admin):
    body = client_as(admin).get("/settings/users/new/").content.decode()
    assert 'list="timezone-names"' in body
    assert '<option value="Europe/London">' in body


def test_administrator_creates_a_user_with_groups(client_as, admin, staff_group):
    response = client_as(admin).post(
        "/settings/users/new/",
        new_user_data(groups=[staff_group.pk], ip_whitelist="10.0.0.\n192.0.2.1"),
    )
    assert response.status_code == 302
    user = User.objects.get(email="nina@example.com")
    assert user.role == Role.USER
    assert list(user.access_groups.all()) == [staff_group]
    assert [item["entry"] for item in user.ip_whitelist] == ["10.0.0.", "192.0.2.1"]
    assert user.check_password(NEW_PASSWORD)
    (entry,) = [e for e in entries_for(user) if e.action == "create"]
    assert entry.actor == admin
    assert entry.changes["groups"]["added"] == ["Network Services Engineers"]
    assert "password" not in entry.changes
    assert NEW_PASSWORD not in str(entry.changes)


def test_weak_or_mismatched_passwords_are_refused(client_as, admin):
    client = client_as(admin)
    weak = client.post("/settings/users/new/", new_user_data(password1="short", password2="short"))
    assert "Password: This password is too short" in weak.content.decode()
    differ = client.post("/settings/users/new/", new_user_data(password2=NEW_PASSWORD + "x"))
    assert "two passwords differ" in differ.content.decode()
    assert not User.objects.filter(email="nina@example.com").exists()


def test_unknown_time_zone_is_refused_with_the_field_named(client_as, admin):
    page = client_as(admin).post("/settings/users/new/", new_user_data(timezone="Mars/Olympus"))
    assert page.status_code == 200
    assert "Time zone: Mars/Olympus is not a known time zone" in page.content.decode()
    assert not User.objects.filter(email="nina@example.com").exists()


def test_a_whitelist_with_a_bad_line_saves_nothing_and_names_the_lines(client_as, admin):
    page = client_as(admin).post(
        "/settings/users/new/",
        new_user_data(ip_whitelist="10.0.0.1\n300.1.1.1\n10.0.0.1/8\n192.168.0.0/24"),
    )
    body = page.content.decode()
    assert "Line 2: 300.1.1.1: 300 is not a valid octet" in body
    assert "Line 3: 10.0.0.1/8 has host bits set" in body
    assert "Line 1" not in body and "Line 4" not in body
    assert not User.objects.filter(email="nina@example.com").exists()


def test_duplicate_email_is_refused_whatever_its_case(client_as, admin, staff):
    page = client_as(admin).post("/settings/users/new/", new_user_data(email="SAM@example.com"))
    assert "already exists" in page.content.decode()
    assert User.objects.filter(email__iexact="sam@example.com").count() == 1


def test_creating_users_needs_create_on_users(client_as, reseller_user):
    # Rita's group grants read everywhere, nothing more.
    client = client_as(reseller_user)
    assert client.get("/settings/users/new/").status_code == 403
    assert client.post("/settings/users/new/", new_user_data()).status_code == 403


def test_new_user_page_refuses_put(client_as, admin):
    assert client_as(admin).put("/settings/users/new/").status_code == 405


# --- Detail and edit ---------------------------------------------------------------------


def test_user_page_shows_account_groups_and_own_rules(client_as, admin, staff):
    Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    body = client_as(admin).get(f"/settings/users/{staff.pk}/").content.decode()
    assert "sam@example.com" in body and "Network Services Engineers" in body
    assert "/api/cp/cdr" in body and "Add a rule" in body


def test_user_page_refuses_post(client_as, admin, staff):
    assert client_as(admin).post(f"/settings/users/{staff.pk}/").status_code == 405


def test_user_page_needs_read_on_users(client_as, outsider, staff):
    assert client_as(outsider).get(f"/settings/users/{staff.pk}/").status_code == 403


def test_administrator_edits_a_user_and_the_audit_says_what_changed(
    client_as, admin, staff, staff_group
):
    other = GroupFactory(name="Billing team")
    response = client_as(admin).post(
        f"/settings/users/{staff.pk}/edit/",
        edit_data(staff, name="Samuel Staff", groups=[other.pk], shared_ticket="on"),
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.name == "Samuel Staff" and staff.shared_ticket
    assert list(staff.access_groups.all()) == [other]
    entry = entries_for(staff)[0]
    assert entry.changes["name"] == {"before": "Sam Staff", "after": "Samuel Staff"}
    assert entry.changes["groups"] == {
        "added": ["Billing team"],
        "removed": ["Network Services Engineers"],
    }


@pytest.mark.parametrize(
    "change",
    [
        {"email": "samuel@example.com"},
        {"role": "administrator"},
        {"ip_whitelist": "198.51.100.0/24"},
    ],
)
def test_changing_email_role_or_whitelist_ends_the_users_sessions(client_as, admin, staff, change):
    theirs = signed_in_elsewhere(staff)
    response = client_as(admin).post(
        f"/settings/users/{staff.pk}/edit/", edit_data(staff, **change)
    )
    assert response.status_code == 302
    assert theirs.get("/accounts/profile/").status_code == 302


def test_changing_only_the_name_keeps_the_users_sessions(client_as, admin, staff):
    theirs = signed_in_elsewhere(staff)
    client_as(admin).post(f"/settings/users/{staff.pk}/edit/", edit_data(staff, name="S."))
    assert theirs.get("/accounts/profile/").status_code == 200


def test_second_of_two_concurrent_edits_is_told_and_overwrites_nothing(client_as, admin, staff):
    first = edit_data(staff, name="First edit")
    second = edit_data(staff, name="Second edit")  # rendered from the same version
    client = client_as(admin)
    assert client.post(f"/settings/users/{staff.pk}/edit/", first).status_code == 302
    refused = client.post(f"/settings/users/{staff.pk}/edit/", second)
    assert refused.status_code == 409
    assert "changed by someone else" in refused.content.decode()
    staff.refresh_from_db()
    assert staff.name == "First edit"


def test_a_form_without_its_version_is_refused(client_as, admin, staff):
    data = edit_data(staff, name="No version")
    del data["updated_at"]
    page = client_as(admin).post(f"/settings/users/{staff.pk}/edit/", data)
    assert "reload the page" in page.content.decode()
    staff.refresh_from_db()
    assert staff.name == "Sam Staff"


def test_editing_users_needs_update_on_users(client_as, reseller_user):
    colleague = UserFactory(reseller=reseller_user.reseller)
    client = client_as(reseller_user)
    assert client.get(f"/settings/users/{colleague.pk}/edit/").status_code == 403
    assert client.post(f"/settings/users/{colleague.pk}/edit/", {}).status_code == 403


def test_edit_page_refuses_delete_method(client_as, admin, staff):
    assert client_as(admin).delete(f"/settings/users/{staff.pk}/edit/").status_code == 405


def test_edit_whitelist_errors_name_each_bad_line(client_as, admin, staff):
    page = client_as(admin).post(
        f"/settings/users/{staff.pk}/edit/",
        edit_data(staff, ip_whitelist="1.1.1\n2001:db8::/48\nfoo"),
    )
    body = page.content.decode()
    assert "IP whitelist: Line 1: 1.1.1 is ambiguous" in body
    assert "IP whitelist: Line 3: foo is not an IP address" in body
    staff.refresh_from_db()
    assert staff.ip_whitelist == []


# --- Self-lockout ------------------------------------------------------------------------


def test_saving_own_whitelist_without_own_address_asks_first(client_as, admin):
    client = client_as(admin)
    data = edit_data(admin, ip_whitelist="10.0.0.0/8")
    page = client.post(f"/settings/users/{admin.pk}/edit/", data, REMOTE_ADDR="203.0.113.9")
    body = page.content.decode()
    assert page.status_code == 200
    assert "203.0.113.9" in body and "Yes, save anyway" in body
    admin.refresh_from_db()
    assert admin.ip_whitelist == []

    data["confirm_lockout"] = "on"
    saved = client.post(f"/settings/users/{admin.pk}/edit/", data, REMOTE_ADDR="203.0.113.9")
    assert saved.status_code == 302
    admin.refresh_from_db()
    assert [item["network"] for item in admin.ip_whitelist] == ["10.0.0.0/8"]


def test_own_whitelist_that_includes_own_address_saves_without_asking(client_as, admin):
    client = client_as(admin)
    response = client.post(
        f"/settings/users/{admin.pk}/edit/",
        edit_data(admin, ip_whitelist="203.0.113.0/24"),
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    # the other sessions end, but the one that made the change stays signed in
    assert client.get("/accounts/profile/", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_anothers_whitelist_never_asks_about_your_address(client_as, admin, staff):
    response = client_as(admin).post(
        f"/settings/users/{staff.pk}/edit/",
        edit_data(staff, ip_whitelist="10.0.0.0/8"),
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302


# --- Passwords ---------------------------------------------------------------------------


def test_administrator_sets_a_password_without_the_current_one(client_as, admin, staff):
    theirs = signed_in_elsewhere(staff)
    client = client_as(admin)
    form = client.get(f"/settings/users/{staff.pk}/password/").content.decode()
    assert "must contain at least 12 characters" in form and "title=" in form
    response = client.post(
        f"/settings/users/{staff.pk}/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)
    assert theirs.get("/accounts/profile/").status_code == 302  # their sessions ended
    assert mail.outbox == []  # never e-mailed
    (entry,) = entries_for(staff)
    assert entry.action == "password change"
    assert NEW_PASSWORD not in entry.message


def test_password_validators_apply_when_setting_a_password(client_as, admin, staff, password):
    page = client_as(admin).post(
        f"/settings/users/{staff.pk}/password/",
        {"new_password1": "12345678", "new_password2": "12345678"},
    )
    body = page.content.decode()
    assert "too short" in body and "entirely numeric" in body
    staff.refresh_from_db()
    assert staff.check_password(password)


def test_own_password_is_not_changed_from_the_users_page(client_as, admin):
    page = client_as(admin).get(f"/settings/users/{admin.pk}/password/")
    assert page.status_code == 403
    assert "asks for your current one" in page.content.decode()


def test_password_page_needs_update_and_refuses_put(client_as, admin, reseller_user):
    colleague = UserFactory(reseller=reseller_user.reseller)
    assert (
        client_as(reseller_user).get(f"/settings/users/{colleague.pk}/password/").status_code == 403
    )
    assert client_as(admin).put(f"/settings/users/{colleague.pk}/password/").status_code == 405


# --- Deactivate, activate, delete --------------------------------------------------------


def test_deactivating_asks_first_then_ends_the_sessions(client_as, admin, staff):
    theirs = signed_in_elsewhere(staff)
    client = client_as(admin)
    confirm = client.get(f"/settings/users/{staff.pk}/deactivate/")
    assert confirm.status_code == 200 and "Deactivate" in confirm.content.decode()
    staff.refresh_from_db()
    assert staff.is_active
    assert client.post(f"/settings/users/{staff.pk}/deactivate/").status_code == 302
    staff.refresh_from_db()
    assert not staff.is_active
    assert theirs.get("/accounts/profile/").status_code == 302
    assert entries_for(staff)[0].changes == {"is_active": {"before": True, "after": False}}


def test_activating_lets_the_user_back(client_as, admin, staff):
    staff.is_active = False
    staff.save()
    assert client_as(admin).post(f"/settings/users/{staff.pk}/activate/").status_code == 302
    staff.refresh_from_db()
    assert staff.is_active


def test_deleting_asks_first_then_deletes(client_as, admin, staff):
    client = client_as(admin)
    assert "Delete user" in client.get(f"/settings/users/{staff.pk}/delete/").content.decode()
    assert client.post(f"/settings/users/{staff.pk}/delete/").status_code == 302
    assert not User.objects.filter(pk=staff.pk).exists()
    entry = AuditEntry.objects.get(object_type="user", object_id=str(staff.pk), action="delete")
    assert entry.changes["groups"]["removed"] == ["Network Services Engineers"]


def test_you_cannot_delete_or_deactivate_yourself(client_as, admin):
    UserFactory(role=Role.ADMINISTRATOR)  # Ada is not the last administrator
    client = client_as(admin)
    assert client.post(f"/settings/users/{admin.pk}/delete/").status_code == 403
    assert client.post(f"/settings/users/{admin.pk}/deactivate/").status_code == 403
    admin.refresh_from_db()
    assert admin.is_active


def test_deactivate_and_delete_need_their_permissions_and_methods(client_as, admin, reseller_user):
    colleague = UserFactory(reseller=reseller_user.reseller)
    client = client_as(reseller_user)  # read only
    assert client.post(f"/settings/users/{colleague.pk}/deactivate/").status_code == 403
    assert client.post(f"/settings/users/{colleague.pk}/delete/").status_code == 403
    admin_client = client_as(admin)
    assert admin_client.put(f"/settings/users/{colleague.pk}/deactivate/").status_code == 405
    assert admin_client.put(f"/settings/users/{colleague.pk}/delete/").status_code == 405


# --- A user's own rules ------------------------------------------------------------------


def test_administrator_adds_and_removes_a_users_own_rule(client_as, admin, staff):
    client = client_as(admin)
    response = client.post(
        f"/settings/users/{staff.pk}/rules/new/",
        {"area": "cdr", "access": ["read"], "effect": "deny"},
    )
    assert response.status_code == 302
    rule = Rule.objects.get(user=staff)
    assert (rule.area, rule.action_list, rule.effect) == ("cdr", ["read"], Effect.DENY)
    assert client.get(f"/settings/users/{staff.pk}/rules/{rule.pk}/delete/").status_code == 200
    assert client.post(f"/settings/users/{staff.pk}/rules/{rule.pk}/delete/").status_code == 302
    assert not Rule.objects.filter(user=staff).exists()
    actions = [e.action for e in entries_for(staff)]
    assert actions == ["delete", "create"]


def test_a_rule_without_access_is_refused_with_the_field_named(client_as, admin, staff):
    page = client_as(admin).post(
        f"/settings/users/{staff.pk}/rules/new/", {"area": "cdr", "effect": "allow"}
    )
    assert "Access: Choose at least one of create, read, update, delete." in page.content.decode()


def test_a_second_rule_with_the_same_area_and_effect_is_refused(client_as, admin, staff):
    Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    page = client_as(admin).post(
        f"/settings/users/{staff.pk}/rules/new/",
        {"area": "cdr", "access": ["create"], "effect": "allow"},
    )
    assert "edit its access instead" in page.content.decode()


def test_user_rule_pages_need_update_and_their_methods(client_as, admin, reseller_user, staff):
    colleague = UserFactory(reseller=reseller_user.reseller)
    rule = Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    reader = client_as(reseller_user)
    assert reader.post(f"/settings/users/{colleague.pk}/rules/new/", {}).status_code == 403
    admin_client = client_as(admin)
    assert admin_client.put(f"/settings/users/{staff.pk}/rules/new/").status_code == 405
    assert (
        admin_client.put(f"/settings/users/{staff.pk}/rules/{rule.pk}/delete/").status_code == 405
    )
    # a rule of another user is not found under this one
    assert (
        admin_client.get(f"/settings/users/{colleague.pk}/rules/{rule.pk}/delete/").status_code
        == 404
    )


# --- Timestamps ------------------------------------------------------------------------


def test_last_login_is_shown_in_the_viewers_time_zone(client_as, admin, staff):
    staff.last_login = datetime.datetime(2026, 1, 1, 23, 30, tzinfo=datetime.UTC)
    staff.save()
    admin.timezone = "Asia/Tokyo"
    admin.save()
    body = client_as(admin).get("/settings/users/").content.decode()
    assert '2026-01-02</span> <span class="muted small nowrap">08:30' in body


def test_user_page_offers_the_sign_in_lifecycle_to_those_who_may_manage(
    client_as, admin, manager, staff
):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/").content.decode()
    assert f'action="/settings/users/{staff.pk}/send-reset/"' in body
    password_page = client_as(admin).get(f"/settings/users/{staff.pk}/password/")
    assert "Send a reset link instead" in password_page.content.decode()
    # Mia lacks what Sam holds (routing, carriers): she is shown why, and no buttons
    refused = client_as(manager).get(f"/settings/users/{staff.pk}/").content.decode()
    assert "Sam Staff can" in refused and "/send-reset/" not in refused


def test_a_change_of_groups_alone_still_stops_a_stale_form(client_as, admin, staff):
    billing = GroupFactory(name="Billing team")
    stale = edit_data(staff, name="Stale edit")
    client = client_as(admin)
    assert (
        client.post(
            f"/settings/users/{staff.pk}/edit/", edit_data(staff, groups=[billing.pk])
        ).status_code
        == 302
    )
    assert client.post(f"/settings/users/{staff.pk}/edit/", stale).status_code == 409
    assert [g.name for g in staff.access_groups.all()] == ["Billing team"]


def test_a_user_in_two_matching_groups_is_listed_once(client_as, admin):
    both = UserFactory(
        email="twice@example.com",
        groups=[GroupFactory(name="Ops East"), GroupFactory(name="Ops West")],
    )
    body = client_as(admin).get("/settings/users/?q=ops").content.decode()
    assert body.count(f'href="/settings/users/{both.pk}/"') == 1


def test_search_results_page_without_a_total(client_as, admin):
    for i in range(30):
        UserFactory(email=f"ops{i:02d}@example.com")
    client = client_as(admin)
    first = client.get("/settings/users/?q=ops").content.decode()
    assert "ops00@example.com" in first and "ops25@example.com" not in first
    assert 'rel="next"' in first and "users-count" in first and " users</p>" not in first
    following = re.search(r'<a href="([^"]+)" rel="next">', first).group(1)
    assert "q=ops" in unescape(following)
    second = client.get(unescape(following)).content.decode()
    assert "ops25@example.com" in second and "ops29@example.com" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    beyond = client.get("/settings/users/?q=ops&after=999999.zzz").content.decode()
    assert "ops00@example.com" in beyond  # past the end: back to the first page


def test_search_page_runs_no_count(client_as, admin):
    client = client_as(admin)
    with CaptureQueriesContext(connection) as captured:
        client.get("/settings/users/?q=ops")
    user_counts = [
        q["sql"] for q in captured if "COUNT(*)" in q["sql"] and "accounts_user" in q["sql"]
    ]
    assert user_counts == []


def test_a_reader_without_group_read_gets_no_groups_column_and_no_group_queries(
    client_as, manager_group
):
    from permissions.models import Rule

    Rule.objects.filter(group=manager_group, area="group").delete()
    reader = UserFactory(email="reader@example.com", groups=[manager_group])
    with CaptureQueriesContext(connection) as captured:
        page = client_as(reader).get("/settings/users/")
    assert page.status_code == 200
    assert 'id="groups-heading"' not in page.content.decode()
    group_sql = [q["sql"] for q in captured if '"permissions_group' in q["sql"]]
    # only the reader's own groups (for their user row's prefetch) and the group filter's
    # stamp (``group_names``: a count and the newest change), no overview counts
    assert not [sql for sql in group_sql if "COUNT" in sql and '"newest"' not in sql]
