"""ACCESS_MODEL.md, "No one grants what they do not hold", and the last administrator.

Each rule is checked twice: through the page a person uses, and directly through the
service (so the API and commands cannot go around it). Mia is a user manager (not an
administrator): she holds CRUD on users, groups and customers, and read on billing."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection

from accounts.models import Role, User
from controlpanel.kit.areas import mask_of
from permissions import services as groups
from permissions import user_services as users
from permissions.models import Effect, Group, Rule
from tests.factories import AdminFactory, GroupFactory, ResellerFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a much longer passphrase 2026"
CRUD = ["create", "read", "update", "delete"]


def granular_group(name, *rules, defaults=CRUD) -> Group:
    group = GroupFactory(name=name, defaults=mask_of(defaults))
    for area, actions, effect in rules:
        Rule.objects.create(group=group, area=area, actions=mask_of(actions), effect=effect)
    return group


@pytest.fixture
def billing_admins(db):
    """A group granting more than Mia holds: update and delete on billing."""
    return granular_group("Billing admins", ("billing", CRUD, Effect.ALLOW))


@pytest.fixture
def customer_readers(db):
    """A group granting only what Mia holds."""
    return granular_group("Customer readers", ("customer", ["read"], Effect.ALLOW))


@pytest.fixture
def clerk(db):
    """A user Mia may manage: no groups, no permissions."""
    return UserFactory(email="cleo@example.com", name="Cleo Clerk")


def form_data(user, **overrides) -> dict:
    data = {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "groups": [g.pk for g in user.access_groups.all()],
        "timezone": user.timezone,
        "ip_whitelist": "",
        "updated_at": user.updated_at.isoformat(),
    }
    data.update(overrides)
    return data


# --- Making administrators ---------------------------------------------------------------


def test_non_administrator_cannot_create_an_administrator_through_the_service(manager):
    with pytest.raises(PermissionDenied, match="Only an administrator can make"):
        users.user_create(
            actor=manager, email="x@example.com", password=PASSWORD, role=Role.ADMINISTRATOR
        )
    assert not User.objects.filter(email="x@example.com").exists()


def test_non_administrator_cannot_create_an_administrator_through_the_page(client_as, manager):
    client = client_as(manager)
    assert 'value="administrator"' not in client.get("/settings/users/new/").content.decode()
    page = client.post(
        "/settings/users/new/",
        {
            "email": "x@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": "administrator",
            "timezone": "UTC",
        },
    )
    assert "Only an administrator can make someone an administrator." in page.content.decode()
    assert not User.objects.filter(email="x@example.com").exists()


def test_non_administrator_cannot_promote_a_user(client_as, manager, clerk):
    with pytest.raises(PermissionDenied, match="Only an administrator can make"):
        users.user_update(actor=manager, user=clerk, role=Role.ADMINISTRATOR)
    page = client_as(manager).post(
        f"/settings/users/{clerk.pk}/edit/", form_data(clerk, role="administrator")
    )
    assert "Only an administrator can make someone an administrator." in page.content.decode()
    clerk.refresh_from_db()
    assert clerk.role == Role.USER


def test_administrator_can_promote_a_user(admin, clerk):
    users.user_update(actor=admin, user=clerk, role=Role.ADMINISTRATOR)
    clerk.refresh_from_db()
    assert clerk.is_administrator


# --- Administrators are out of reach -----------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda actor, target: users.user_update(actor=actor, user=target, name="Hacked"),
        lambda actor, target: users.user_set_password(actor=actor, user=target, password=PASSWORD),
        lambda actor, target: users.user_deactivate(actor=actor, user=target),
        lambda actor, target: users.user_delete(actor=actor, user=target),
        lambda actor, target: users.user_rule_create(
            actor=actor, user=target, area="customer", actions=["read"], effect=Effect.DENY
        ),
    ],
    ids=["edit", "reset password", "deactivate", "delete", "add rule"],
)
def test_non_administrator_cannot_touch_an_administrator_through_the_service(manager, admin, call):
    with pytest.raises(PermissionDenied, match="Only an administrator can edit, reset"):
        call(manager, admin)
    admin.refresh_from_db()
    assert admin.is_active and admin.name == "Ada Admin"
    assert User.objects.filter(pk=admin.pk).exists()


@pytest.mark.parametrize("path", ["edit/", "password/", "deactivate/", "delete/"])
def test_non_administrator_cannot_touch_an_administrator_through_the_page(
    client_as, manager, admin, path
):
    client = client_as(manager)
    shown = client.get(f"/settings/users/{admin.pk}/{path}")
    assert shown.status_code == 403
    assert "Only an administrator can edit, reset" in shown.content.decode()
    done = client.post(f"/settings/users/{admin.pk}/{path}", form_data(admin, name="Hacked"))
    assert done.status_code == 403
    admin.refresh_from_db()
    assert admin.is_active and admin.name == "Ada Admin"


def test_users_page_hides_edit_links_for_administrators_from_non_administrators(
    client_as, manager, admin
):
    body = client_as(manager).get("/settings/users/").content.decode()
    assert f"/settings/users/{admin.pk}/edit/" not in body
    assert f"/settings/users/{admin.pk}/access/" in body


# --- Groups that grant more than the actor holds -----------------------------------------


def test_adding_a_user_to_a_group_granting_more_is_refused_through_the_service(
    manager, clerk, billing_admins
):
    with pytest.raises(PermissionDenied) as refused:
        users.user_set_groups(actor=manager, user=clerk, groups=[billing_admins])
    message = str(refused.value)
    assert "add the user to the group Billing admins" in message
    assert "create, update, delete on Billing" in message
    assert not clerk.access_groups.exists()


def test_adding_a_user_to_a_group_granting_more_is_refused_through_the_page(
    client_as, manager, clerk, billing_admins
):
    page = client_as(manager).post(
        f"/settings/users/{clerk.pk}/edit/", form_data(clerk, groups=[billing_admins.pk])
    )
    assert page.status_code == 403
    assert "which you do not hold yourself" in page.content.decode()
    assert not clerk.access_groups.exists()


def test_creating_a_user_in_a_group_granting_more_is_refused(client_as, manager, billing_admins):
    page = client_as(manager).post(
        "/settings/users/new/",
        {
            "email": "x@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": "user",
            "timezone": "UTC",
            "groups": [billing_admins.pk],
        },
    )
    assert page.status_code == 403
    assert "Billing" in page.content.decode()
    assert not User.objects.filter(email="x@example.com").exists()


def test_a_group_granting_only_what_the_actor_holds_can_be_given(
    client_as, manager, clerk, customer_readers
):
    response = client_as(manager).post(
        f"/settings/users/{clerk.pk}/edit/", form_data(clerk, groups=[customer_readers.pk])
    )
    assert response.status_code == 302
    assert list(clerk.access_groups.all()) == [customer_readers]


def test_a_defaults_group_grants_its_defaults_everywhere_so_it_is_refused(manager, clerk):
    readers = GroupFactory(name="Read everything", defaults=mask_of(["read"]))
    with pytest.raises(PermissionDenied, match="read on Carriers"):
        users.user_set_groups(actor=manager, user=clerk, groups=[readers])


def test_removing_a_user_from_a_group_that_carried_a_deny_is_refused(manager, clerk):
    # One group grants Cleo carrier reads, another denies them: taking her out of the
    # second would let her read carriers, which Mia cannot do herself.
    grants = granular_group("Carrier readers", ("carrier", ["read"], Effect.ALLOW))
    no_carriers = granular_group("No carriers", ("carrier", ["read"], Effect.DENY), defaults=())
    users.user_set_groups(actor=None, user=clerk, groups=[grants, no_carriers])
    with pytest.raises(PermissionDenied, match="read on Carriers"):
        users.user_set_groups(actor=manager, user=clerk, groups=[grants])
    assert set(clerk.access_groups.all()) == {grants, no_carriers}


# --- Rules that grant more than the actor holds ------------------------------------------


def test_giving_a_user_a_rule_beyond_ones_own_is_refused_through_the_service(manager, clerk):
    with pytest.raises(PermissionDenied, match="update on Billing"):
        users.user_rule_create(
            actor=manager, user=clerk, area="billing", actions=["read", "update"]
        )
    assert not Rule.objects.filter(user=clerk).exists()


def test_giving_a_user_a_rule_beyond_ones_own_is_refused_through_the_page(
    client_as, manager, clerk
):
    page = client_as(manager).post(
        f"/settings/users/{clerk.pk}/rules/new/",
        {"area": "billing", "access": ["read", "update"], "effect": "allow"},
    )
    assert page.status_code == 403
    assert "update on Billing, which you do not hold yourself" in page.content.decode()
    assert not Rule.objects.filter(user=clerk).exists()


def test_giving_a_user_a_rule_one_holds_works(client_as, manager, clerk):
    response = client_as(manager).post(
        f"/settings/users/{clerk.pk}/rules/new/",
        {"area": "billing", "access": ["read"], "effect": "allow"},
    )
    assert response.status_code == 302
    assert Rule.objects.get(user=clerk).action_list == ["read"]


def test_a_deny_rule_never_grants_so_anyone_managing_the_user_may_add_it(manager, clerk):
    rule = users.user_rule_create(
        actor=manager, user=clerk, area="carrier", actions=CRUD, effect=Effect.DENY
    )
    assert rule.effect == Effect.DENY


def test_deleting_a_users_deny_that_hid_more_than_the_actor_holds_is_refused(
    client_as, manager, clerk
):
    carriers = granular_group("Carrier readers", ("carrier", ["read"], Effect.ALLOW))
    users.user_set_groups(actor=None, user=clerk, groups=[carriers])
    deny = users.user_rule_create(
        actor=None, user=clerk, area="carrier", actions=["read"], effect=Effect.DENY
    )
    with pytest.raises(PermissionDenied, match="read on Carriers"):
        users.user_rule_delete(actor=manager, rule=deny)
    page = client_as(manager).post(f"/settings/users/{clerk.pk}/rules/{deny.pk}/delete/")
    assert page.status_code == 403
    assert Rule.objects.filter(pk=deny.pk).exists()


def test_giving_a_group_a_rule_beyond_ones_own_is_refused_through_the_service(
    manager, customer_readers
):
    with pytest.raises(PermissionDenied, match="delete on Billing"):
        groups.rule_create(
            actor=manager, group=customer_readers, area="billing", actions=["read", "delete"]
        )
    assert customer_readers.rules.count() == 1


def test_giving_a_group_a_rule_beyond_ones_own_is_refused_through_the_page(
    client_as, manager, customer_readers
):
    page = client_as(manager).post(
        f"/settings/groups/{customer_readers.pk}/rules/new/",
        {"area": "carrier", "access": ["read"], "effect": "allow"},
    )
    assert page.status_code == 403
    assert "read on Carriers, which you do not hold yourself" in page.content.decode()
    assert customer_readers.rules.count() == 1


def test_widening_a_group_rule_beyond_ones_own_is_refused(client_as, manager):
    billing = granular_group("Billing readers", ("billing", ["read"], Effect.ALLOW))
    rule = billing.rules.get()
    with pytest.raises(PermissionDenied, match="create on Billing"):
        groups.rule_update(actor=manager, rule=rule, actions=["read", "create"])
    page = client_as(manager).post(
        f"/settings/groups/{billing.pk}/rules/{rule.pk}/edit/",
        {"access": ["read", "create"], "expected_actions": rule.actions},
    )
    assert page.status_code == 403
    assert "create on Billing, which you do not hold yourself" in page.content.decode()
    rule.refresh_from_db()
    assert rule.action_list == ["read"]


def test_creating_a_group_with_default_permissions_beyond_ones_own_is_refused(client_as, manager):
    with pytest.raises(PermissionDenied, match="default permissions"):
        groups.group_create(actor=manager, name="Everything")
    page = client_as(manager).post(
        "/settings/groups/new/", {"name": "Everything", "defaults": CRUD}
    )
    assert page.status_code == 403
    assert "which you do not hold yourself" in page.content.decode()
    assert not Group.objects.filter(name="Everything").exists()


def test_a_group_without_defaults_then_granular_rules_is_within_reach(manager):
    group = groups.group_create(actor=manager, name="Customer desk", defaults=())
    groups.rule_create(actor=manager, group=group, area="customer", actions=CRUD)
    # the group is granular now, so its defaults no longer grant anything
    groups.group_update(actor=manager, group=group, defaults=CRUD)
    group.refresh_from_db()
    assert group.default_actions == CRUD


def test_deleting_the_last_allow_rule_cannot_switch_broad_defaults_back_on(client_as, manager):
    group = granular_group("Customer desk", ("customer", CRUD, Effect.ALLOW))  # defaults CRUD
    rule = group.rules.get()
    with pytest.raises(PermissionDenied, match="on Carriers"):
        groups.rule_delete(actor=manager, rule=rule)
    page = client_as(manager).post(f"/settings/groups/{group.pk}/rules/{rule.pk}/delete/")
    assert page.status_code == 403
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_deleting_a_group_that_carries_a_deny_beyond_ones_own_is_refused(client_as, manager):
    group = granular_group("No carriers", ("carrier", CRUD, Effect.DENY), defaults=())
    with pytest.raises(PermissionDenied, match="delete the group No carriers"):
        groups.group_delete(actor=manager, group=group)
    assert client_as(manager).post(f"/settings/groups/{group.pk}/delete/").status_code == 403
    assert Group.objects.filter(pk=group.pk).exists()


def test_default_reseller_group_is_refused_to_someone_lacking_its_preset(client_as, manager):
    with pytest.raises(PermissionDenied, match="Contacts"):
        groups.group_create_default_reseller(actor=manager)
    page = client_as(manager).post("/settings/groups/default-reseller/")
    assert page.status_code == 403
    assert "which you do not hold yourself" in page.content.decode()
    assert not Group.objects.filter(name="Reseller").exists()


# --- One's own access --------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"role": Role.ADMINISTRATOR},
        {"ip_whitelist": ["10.0.0.0/8"]},
        {"groups": []},
    ],
    ids=["role", "whitelist", "groups"],
)
def test_non_administrator_cannot_change_own_access_through_the_service(manager, change):
    with pytest.raises(PermissionDenied):
        users.user_update(actor=manager, user=manager, **change)
    manager.refresh_from_db()
    assert manager.role == Role.USER and manager.ip_whitelist == []
    assert manager.access_groups.count() == 1


def test_non_administrator_cannot_give_themselves_a_rule(manager):
    with pytest.raises(PermissionDenied, match="your own role, groups, rules"):
        users.user_rule_create(
            actor=manager, user=manager, area="customer", actions=["read"], effect=Effect.DENY
        )


def test_own_edit_page_offers_no_role_groups_or_whitelist_and_ignores_them(
    client_as, manager, billing_admins
):
    client = client_as(manager)
    form = client.get(f"/settings/users/{manager.pk}/edit/").content.decode()
    assert 'name="role"' not in form and 'name="groups"' not in form
    assert 'name="ip_whitelist"' not in form
    response = client.post(
        f"/settings/users/{manager.pk}/edit/",
        form_data(
            manager,
            name="Mia M.",
            role="administrator",
            groups=[billing_admins.pk],
            ip_whitelist="10.0.0.0/8",
        ),
    )
    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.name == "Mia M."
    assert manager.role == Role.USER and manager.ip_whitelist == []
    assert [g.name for g in manager.access_groups.all()] == ["User managers"]
    assert client.post(f"/settings/users/{manager.pk}/rules/new/", {}).status_code == 403


# --- Users who hold more than the actor --------------------------------------------------


def test_a_user_holding_more_than_the_actor_cannot_be_reset_or_edited(
    client_as, manager, billing_admins
):
    # Whoever resets a password can become that user.
    boss = UserFactory(name="Bea Billing", groups=[billing_admins])
    with pytest.raises(PermissionDenied, match="Bea Billing can create, update, delete on"):
        users.user_set_password(actor=manager, user=boss, password=PASSWORD)
    client = client_as(manager)
    assert (
        client.post(
            f"/settings/users/{boss.pk}/password/",
            {"new_password1": PASSWORD, "new_password2": PASSWORD},
        ).status_code
        == 403
    )
    assert client.get(f"/settings/users/{boss.pk}/edit/").status_code == 403
    boss.refresh_from_db()
    assert not boss.check_password(PASSWORD)


# --- Reseller scope ----------------------------------------------------------------------


def test_a_resellers_user_manager_cannot_reach_another_resellers_user(
    reseller_user, manager_group, staff
):
    reseller_user.access_groups.add(manager_group)
    with pytest.raises(PermissionDenied, match="another reseller"):
        users.user_update(actor=reseller_user, user=staff, name="Moved")
    other = ResellerFactory(name="Other Telecom")
    with pytest.raises(PermissionDenied, match="users of your own reseller only"):
        users.user_create(
            actor=reseller_user,
            email="x@example.com",
            password=PASSWORD,
            role=Role.USER,
            reseller=other,
        )
    staff.refresh_from_db()
    assert staff.name == "Sam Staff"


def test_a_resellers_user_manager_creates_users_of_their_reseller(reseller_user, manager_group):
    reseller_user.access_groups.add(manager_group)
    created = users.user_create(
        actor=reseller_user, email="x@example.com", password=PASSWORD, role=Role.USER
    )
    assert created.reseller == reseller_user.reseller


# --- The last administrator --------------------------------------------------------------


def test_the_last_administrator_cannot_be_deleted_deactivated_or_demoted(admin):
    for call in (
        lambda: users.user_delete(actor=None, user=admin),
        lambda: users.user_deactivate(actor=None, user=admin),
        lambda: users.user_update(actor=None, user=admin, role=Role.USER),
    ):
        with pytest.raises(ValidationError, match="last active administrator"):
            call()
    admin.refresh_from_db()
    assert admin.is_active and admin.is_administrator


def test_the_last_administrator_is_kept_through_the_pages(client_as, admin):
    other = AdminFactory(email="ian@example.com", name="Ian Admin")
    client = client_as(admin)
    assert client.post(f"/settings/users/{other.pk}/deactivate/").status_code == 302
    # Ada is now the last active administrator: she cannot make herself a user.
    demote = client.post(f"/settings/users/{admin.pk}/edit/", form_data(admin, role="user"))
    assert demote.status_code == 409
    assert "Ada Admin is the last active administrator" in demote.content.decode()
    admin.refresh_from_db()
    assert admin.is_administrator and admin.is_active


def test_an_administrator_can_be_demoted_while_another_remains(admin):
    other = AdminFactory()
    users.user_update(actor=admin, user=other, role=Role.USER)
    other.refresh_from_db()
    assert other.role == Role.USER
    with pytest.raises(ValidationError, match="last active administrator"):
        users.user_update(actor=None, user=admin, role=Role.USER)


def test_an_inactive_administrator_does_not_count(admin):
    dormant = AdminFactory(is_active=False)
    with pytest.raises(ValidationError, match="last active administrator"):
        users.user_deactivate(actor=None, user=admin)
    users.user_delete(actor=admin, user=dormant)  # removing an inactive one is fine


def test_two_requests_removing_the_last_two_administrators_leave_one(admin):
    other = AdminFactory()
    users.user_delete(actor=None, user=other)
    with pytest.raises(ValidationError, match="last active administrator"):
        users.user_delete(actor=None, user=admin)
    assert User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).count() == 1


RACERS = {
    "demote": lambda target: users.user_update(actor=None, user=target, role=Role.USER),
    "deactivate": lambda target: users.user_deactivate(actor=None, user=target),
    "delete": lambda target: users.user_delete(actor=None, user=target),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL; SQLite serialises"
)
@pytest.mark.parametrize(
    ("first_way", "second_way"), [("demote", "demote"), ("delete", "deactivate")]
)
def test_two_racing_requests_keep_one_administrator_on_postgresql(first_way, second_way):
    first, second = AdminFactory(), AdminFactory()
    barrier = threading.Barrier(2)
    outcomes = []

    def remove(way, target):
        try:
            barrier.wait()
            RACERS[way](target)
            outcomes.append("done")
        except ValidationError:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=remove, args=(first_way, first)),
        threading.Thread(target=remove, args=(second_way, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["done", "refused"]
    assert User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).count() == 1


# --- Trusted callers ---------------------------------------------------------------------


def test_trusted_callers_skip_the_escalation_checks_but_not_the_last_administrator(
    admin, clerk, billing_admins
):
    users.user_set_groups(actor=None, user=clerk, groups=[billing_admins])
    assert list(clerk.access_groups.all()) == [billing_admins]
    with pytest.raises(ValidationError):
        users.user_delete(actor=None, user=admin)


def test_an_inactive_actor_can_do_nothing(manager, clerk):
    manager.is_active = False
    manager.save()
    with pytest.raises(PermissionDenied, match="signed-in, active user"):
        users.user_update(actor=manager, user=clerk, name="x")


def test_an_actor_without_update_on_users_is_refused_by_the_service(staff, clerk):
    with pytest.raises(PermissionDenied, match="update in Users"):
        users.user_update(actor=staff, user=clerk, name="x")
