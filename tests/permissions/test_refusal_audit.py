"""A refusal leaves one audit entry, whoever refused: the middleware, or a service deep in a
page or an API call (no escalation, administrators, the last administrator), and any 403
that reached the way out another way (ACCESS_MODEL.md, Requests)."""

import pytest
from django.test import Client

from accounts.models import User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions.checks import CANNOT_MANAGE_ADMINISTRATOR, OWN_ACCESS
from permissions.models import Rule
from tests.api.conftest import Api, make_token
from tests.factories import AdminFactory, GroupFactory

pytestmark = pytest.mark.django_db


def refusals(actor=None):
    entries = AuditEntry.objects.filter(action="refused")
    return list(entries.filter(actor=actor) if actor is not None else entries)


def the_refusal(actor) -> AuditEntry:
    (entry,) = refusals(actor)  # exactly one entry for one refused request
    return entry


def edit_data(user, **overrides) -> dict:
    data = {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "groups": [g.pk for g in user.access_groups.all()],
        "reseller": user.reseller_id or "",
        "timezone": user.timezone,
        "ip_whitelist": "",
        "updated_at": user.updated_at.isoformat(),
    }
    data.update(overrides)
    return data


@pytest.fixture
def stronger_group(db):
    """More than Mia holds: deleting billing records."""
    group = GroupFactory(name="Billing clerks")
    Rule.objects.create(group=group, area="billing", actions=mask_of(["read", "delete"]))
    return group


# --- Pages --------------------------------------------------------------------------------


def test_setting_an_administrators_password_on_the_page_is_refused_and_audited(
    client_as, manager, admin
):
    response = client_as(manager).post(
        f"/settings/users/{admin.pk}/password/",
        {"new_password1": "a long enough passphrase", "new_password2": "a long enough passphrase"},
    )
    assert response.status_code == 403
    entry = the_refusal(manager)
    assert CANNOT_MANAGE_ADMINISTRATOR in entry.message
    assert entry.object_id == "user" and entry.address == "127.0.0.1"


def test_deleting_an_administrator_on_the_page_is_refused_and_audited(client_as, manager, admin):
    response = client_as(manager).post(f"/settings/users/{admin.pk}/delete/")
    assert response.status_code == 403
    assert User.objects.filter(pk=admin.pk).exists()
    assert CANNOT_MANAGE_ADMINISTRATOR in the_refusal(manager).message


def test_a_group_rule_granting_more_than_one_holds_is_refused_and_audited(client_as, manager):
    group = GroupFactory(name="Empty", defaults=0)
    response = client_as(manager).post(
        f"/settings/groups/{group.pk}/rules/new/",
        {"area": "billing", "access": ["delete"], "effect": "allow"},
    )
    assert response.status_code == 403
    assert not group.rules.exists()
    entry = the_refusal(manager)
    assert "delete on Billing" in entry.message
    assert entry.object_id == "group"  # the area of the page, update on group


def test_the_last_administrator_refused_on_the_page_is_audited(client_as, admin):
    response = client_as(admin).post(
        f"/settings/users/{admin.pk}/edit/", edit_data(admin, role="user")
    )
    assert response.status_code == 409
    admin.refresh_from_db()
    assert admin.is_administrator
    assert "last active administrator" in the_refusal(admin).message


def test_a_change_that_goes_through_leaves_no_refusal(client_as, admin, outsider):
    response = client_as(admin).post(
        f"/settings/users/{outsider.pk}/edit/", edit_data(outsider, name="Olly O.")
    )
    assert response.status_code == 302
    assert refusals() == []


# --- The API ------------------------------------------------------------------------------


def api_as(user) -> Api:
    return Api(make_token(user))


def test_making_someone_an_administrator_through_the_api_is_refused_and_audited(manager, outsider):
    response = api_as(manager).patch(f"/api/cp/user/{outsider.pk}", {"role": "administrator"})
    assert response.status_code == 403
    assert response.json()["area"] == "user" and response.json()["action"] == "update"
    entry = the_refusal(manager)
    assert entry.object_id == "user"
    assert response.json()["detail"] in entry.message


def test_deleting_an_administrator_through_the_api_is_refused_and_audited(manager, admin):
    response = api_as(manager).delete(f"/api/cp/user/{admin.pk}")
    assert response.status_code == 403
    assert CANNOT_MANAGE_ADMINISTRATOR in the_refusal(manager).message


def test_adding_oneself_to_a_stronger_group_through_the_api_is_refused_and_audited(
    manager, manager_group, stronger_group
):
    response = api_as(manager).patch(
        f"/api/cp/user/{manager.pk}", {"groups": [manager_group.pk, stronger_group.pk]}
    )
    assert response.status_code == 403
    assert OWN_ACCESS in the_refusal(manager).message


def test_a_group_rule_granting_more_than_one_holds_through_the_api_is_refused_and_audited(
    manager,
):
    group = GroupFactory(name="Empty", defaults=0)
    response = api_as(manager).patch(
        f"/api/cp/group/{group.pk}",
        {"rules": [{"area": "billing", "actions": ["delete"], "effect": "allow"}]},
    )
    assert response.status_code == 403
    assert "delete on Billing" in the_refusal(manager).message


def test_the_last_administrator_refused_through_the_api_is_audited(admin):
    response = api_as(admin).patch(f"/api/cp/user/{admin.pk}", {"role": "user"})
    assert response.status_code == 409
    assert "last active administrator" in the_refusal(admin).message


def test_a_second_administrator_may_be_demoted_without_a_refusal(admin):
    other = AdminFactory(email="ian@example.com")
    assert api_as(admin).patch(f"/api/cp/user/{other.pk}", {"role": "user"}).status_code == 200
    assert refusals() == []


# --- Any other 403 ------------------------------------------------------------------------


def test_a_403_from_outside_the_refusal_helpers_is_audited_too(admin):
    """A CSRF failure is refused by Django itself: the middleware still audits it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post("/settings/groups/new/", {"name": "No token", "defaults": ["read"]})
    assert response.status_code == 403
    entry = the_refusal(admin)
    assert entry.message.startswith("Refused POST /settings/groups/new/")
