"""The effective-permission grid (areas by CRUD, each cell allowed or denied with the
group, rule or role that decided it) and its what-if form."""

import html
import re

import pytest

from permissions.areas import all_areas, mask_of
from permissions.models import AuditEntry, Effect, Rule
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def cell(body: str, area_label: str, column: int) -> str:
    """The text of one cell: the row whose header is ``area_label``, column 1..4 (CRUD)."""
    row = re.search(
        rf'<th scope="row">{re.escape(area_label)}<.*?</tr>', body, flags=re.DOTALL
    ).group(0)
    cells = re.findall(r'<td class="cell[^"]*">(.*?)</td>', row, flags=re.DOTALL)
    return text(cells[column - 1])


def text(markup: str) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


CREATE, READ, UPDATE, DELETE = 1, 2, 3, 4


def test_grid_shows_every_area_and_each_action(client_as, admin, staff):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    for area in all_areas():
        assert f'<th scope="row">{area.label}<' in body
        assert area.api_path in body
    for action in ("Create", "Read", "Update", "Delete"):
        assert f'<th scope="col">{action}</th>' in body


def test_grid_names_the_group_rule_that_allows(client_as, admin, staff):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert cell(body, "Routing", DELETE).startswith("✓ Allowed")
    assert "group 'Network Services Engineers': allow rule grants delete on routing" in cell(
        body, "Routing", DELETE
    )
    denied = cell(body, "Billing", READ)
    assert denied.startswith("✗ Denied")
    assert "no group or rule grants read on billing" in denied
    # the reason every such cell shares is said once, above the grid
    assert "is granular: its defaults are ignored" not in denied
    assert text(body).count("'Network Services Engineers' is granular: its defaults") == 1


def test_grid_names_a_groups_defaults(client_as, admin):
    readers = GroupFactory(name="Read only", defaults=mask_of(["read"]))
    viewer = UserFactory(groups=[readers])
    body = client_as(admin).get(f"/settings/users/{viewer.pk}/access/").content.decode()
    assert "group 'Read only' default permissions grant read on every area" in cell(
        body, "Carriers", READ
    )
    assert cell(body, "Carriers", UPDATE).startswith("✗ Denied")


def test_grid_names_the_deny_and_what_it_overrode(client_as, admin, staff):
    blocker = GroupFactory(name="No routing deletes", defaults=0)
    Rule.objects.create(
        group=blocker, area="routing", actions=mask_of(["delete"]), effect=Effect.DENY
    )
    staff.access_groups.add(blocker)
    text = cell(
        client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode(),
        "Routing",
        DELETE,
    )
    assert text.startswith("✗ Denied")
    assert "group 'No routing deletes': deny rule takes away delete on routing" in text
    assert "overridden by the deny" in text


def test_grid_names_the_users_own_rule(client_as, admin, staff):
    Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    text = cell(
        client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode(), "CDR", READ
    )
    assert text.startswith("✓ Allowed") and "user's own rule: allow rule grants read" in text


def test_grid_for_an_administrator_says_so_once(client_as, admin):
    body = client_as(admin).get(f"/settings/users/{admin.pk}/access/").content.decode()
    assert body.count("administrator: every action on every area") == 1
    assert text(body).count("✓ Allowed") == 4 * len(all_areas())


def test_grid_for_a_user_without_groups_explains_why_nothing_is_allowed(client_as, admin, outsider):
    body = client_as(admin).get(f"/settings/users/{outsider.pk}/access/").content.decode()
    assert "no groups and no own rules" in body
    assert "✓ Allowed" not in text(body) and "✗ Denied" in text(body)


def test_grid_for_an_inactive_user_says_inactive(client_as, admin, staff):
    staff.is_active = False
    staff.save()
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert "inactive user: an inactive user can do nothing" in body
    assert "✓ Allowed" not in text(body) and "✗ Denied" in text(body)


def test_grid_does_not_rely_on_colour_alone(client_as, admin, staff):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert 'class="cell cell--yes"' in body and 'class="cell cell--no"' in body
    assert "✓</span> Allowed" in body and "✗</span> Denied" in body


# --- What if -----------------------------------------------------------------------------


def test_what_if_shows_the_grid_for_other_groups_and_saves_nothing(
    client_as, admin, staff, staff_group
):
    billing = GroupFactory(name="Billing team", defaults=0)
    Rule.objects.create(group=billing, area="billing", actions=mask_of(["read", "update"]))
    before = AuditEntry.objects.count()
    body = (
        client_as(admin)
        .get(f"/settings/users/{staff.pk}/access/", {"what_if": "1", "groups": [billing.pk]})
        .content.decode()
    )
    what_if = body.split('id="what-if"', 1)[1]
    assert "With Billing team" in what_if
    assert cell(what_if, "Billing", UPDATE).startswith("✓ Allowed")
    assert cell(what_if, "Routing", READ).startswith("✗ Denied")
    # the current grid is still shown above, unchanged
    assert cell(body, "Routing", READ).startswith("✓ Allowed")
    assert list(staff.access_groups.all()) == [staff_group]
    assert AuditEntry.objects.count() == before


def test_what_if_keeps_the_users_own_rules(client_as, admin, staff):
    Rule.objects.create(user=staff, area="customer", actions=mask_of(["read"]), effect=Effect.ALLOW)
    body = (
        client_as(admin)
        .get(f"/settings/users/{staff.pk}/access/", {"what_if": "1"})
        .content.decode()
    )
    what_if = body.split('id="what-if"', 1)[1]
    assert "With no groups" in what_if
    assert cell(what_if, "Customers", READ).startswith("✓ Allowed")
    assert cell(what_if, "Routing", READ).startswith("✗ Denied")


def test_what_if_form_starts_from_the_current_groups(client_as, admin, staff, staff_group):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert re.search(rf'value="{staff_group.pk}"[^>]*checked', body)
    assert 'method="get"' in body


def test_what_if_refuses_an_unknown_group(client_as, admin, staff):
    body = (
        client_as(admin)
        .get(f"/settings/users/{staff.pk}/access/", {"what_if": "1", "groups": ["999999"]})
        .content.decode()
    )
    assert "Select a valid choice" in body
    assert "With " not in body.split('id="what-if"', 1)[1]


# --- Access to the page ------------------------------------------------------------------


def test_grid_needs_read_on_users(client_as, outsider, staff):
    assert client_as(outsider).get(f"/settings/users/{staff.pk}/access/").status_code == 403


def test_grid_refuses_post(client_as, admin, staff):
    assert client_as(admin).post(f"/settings/users/{staff.pk}/access/").status_code == 405


def test_grid_of_another_resellers_user_is_not_found(client_as, reseller_user, staff):
    assert client_as(reseller_user).get(f"/settings/users/{staff.pk}/access/").status_code == 404


def test_grid_of_own_resellers_user_is_shown(client_as, reseller_user):
    colleague = UserFactory(reseller=reseller_user.reseller)
    assert (
        client_as(reseller_user).get(f"/settings/users/{colleague.pk}/access/").status_code == 200
    )


# --- The group page's grid ---------------------------------------------------------------


def test_group_page_grid_shows_what_members_can_do(client_as, admin, staff_group):
    body = client_as(admin).get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert cell(body, "Routing", DELETE).startswith("✓ Allowed")
    assert cell(body, "Carriers", READ).startswith("✓ Allowed")
    assert cell(body, "Carriers", UPDATE).startswith("✗ Denied")
    assert cell(body, "Users", READ).startswith("✗ Denied")


def test_group_page_grid_of_a_defaults_group_allows_its_defaults_everywhere(client_as, admin):
    group = GroupFactory(name="Creators", defaults=mask_of(["create", "read"]))
    body = client_as(admin).get(f"/settings/groups/{group.pk}/").content.decode()
    for label in ("Customers", "Users", "Audit Log"):
        assert cell(body, label, CREATE).startswith("✓ Allowed")
        assert cell(body, label, DELETE).startswith("✗ Denied")
    assert "group 'Creators' default permissions grant create on every area" in text(body)


def test_what_if_checks_the_current_groups_then_the_chosen_ones(
    client_as, admin, staff, staff_group
):
    from tests.factories import GroupFactory

    other = GroupFactory(name="Billing team")
    client = client_as(admin)
    page = client.get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert f'value="{staff_group.pk}" checked' in page
    assert f'value="{other.pk}" checked' not in page
    chosen = client.get(
        f"/settings/users/{staff.pk}/access/", {"what_if": "1", "groups": [other.pk]}
    ).content.decode()
    assert f'value="{other.pk}" checked' in chosen
    assert f'value="{staff_group.pk}" checked' not in chosen
