"""The effective-permission grid (areas by CRUD, each cell allowed or denied with the
group, rule or role that decided it) and its what-if form."""

import html
import re

import pytest

from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import all_areas, mask_of
from permissions.models import Effect, Rule
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def cell_markup(body: str, area_label: str, column: int) -> str:
    row = re.search(
        rf'<th scope="row">{re.escape(area_label)}<.*?</tr>', body, flags=re.DOTALL
    ).group(0)
    return re.findall(r'<td class="cell[^"]*">(.*?)</td>', row, flags=re.DOTALL)[column - 1]


def cell(body: str, area_label: str, column: int) -> str:
    """The text of one cell: the row whose header is ``area_label``, column 1..4 (CRUD)."""
    return text(cell_markup(body, area_label, column))


def why(body: str, area_label: str, column: int) -> list[str]:
    """The legend sentences a cell refers to, in its order (overridden grants included)."""
    anchors = re.findall(r'href="#([^"]+)"', cell_markup(body, area_label, column))
    return [source(body, anchor) for anchor in anchors]


def source(body: str, anchor: str) -> str:
    item = re.search(rf'<li id="{anchor}">(.*?)</li>', body, flags=re.DOTALL).group(1)
    return re.sub(r"^\d+ Source \d+: ", "", text(item))


def text(markup: str) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


CREATE, READ, UPDATE, DELETE = 1, 2, 3, 4
NSE_ROUTING = "Group 'Network Services Engineers': allow create, read, update, delete on Routing"
NSE_GRANULAR = (
    "Group 'Network Services Engineers' is granular: it has allow rules, so its default "
    "permissions are ignored and only its allow rules grant"
)
NOT_GRANTED = "Not granted: no group and no own rule allows this action on this area"


def test_grid_shows_every_area_and_each_action(client_as, admin, staff):
    body = (
        client_as(admin).get(f"/settings/users/{staff.pk}/access/", {"try": "1"}).content.decode()
    )
    for area in all_areas():
        assert f'<th scope="row">{area.label}<' in body
        assert area.api_path in body
    for action in ("Create", "Read", "Update", "Delete"):
        assert f'<th scope="col">{action}</th>' in body


def test_grid_names_the_group_rule_that_allows(client_as, admin, staff):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert cell(body, "Routing", DELETE).startswith("✓ Allowed")
    assert why(body, "Routing", DELETE) == [NSE_ROUTING]
    denied = cell(body, "Billing", READ)
    assert denied.startswith("✗ Denied")
    assert why(body, "Billing", READ) == [NOT_GRANTED, NSE_GRANULAR]


def test_grid_states_each_source_once_and_cells_refer_to_it(client_as, admin, staff):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    page = text(body)
    # 41 denied cells share two sources, 4 routing cells one rule, 1 carrier cell another
    for sentence in (NSE_ROUTING, NSE_GRANULAR, NOT_GRANTED):
        assert page.count(sentence) == 1
    assert "Group 'Network Services Engineers': allow read on Carriers" in page
    assert len(re.findall(r'<li id="grid-now-source-\d+">', body)) == 4
    assert all(why(body, "Routing", column) == [NSE_ROUTING] for column in range(1, 5))


def test_grid_sources_name_areas_by_their_label(client_as, admin):
    cards = GroupFactory(name="Cards", defaults=0)
    Rule.objects.create(group=cards, area="card", actions=mask_of(["read", "update"]))
    viewer = UserFactory(groups=[cards])
    body = client_as(admin).get(f"/settings/users/{viewer.pk}/access/").content.decode()
    assert why(body, "Rate Cards", READ) == ["Group 'Cards': allow read, update on Rate Cards"]
    assert " on card" not in text(body)


def test_grid_names_a_groups_defaults(client_as, admin):
    readers = GroupFactory(name="Read only", defaults=mask_of(["read"]))
    viewer = UserFactory(groups=[readers])
    body = client_as(admin).get(f"/settings/users/{viewer.pk}/access/").content.decode()
    assert why(body, "Carriers", READ) == [
        "Group 'Read only': default permissions read on every area (it has no allow rule)"
    ]
    assert cell(body, "Carriers", UPDATE).startswith("✗ Denied")


def test_grid_names_the_deny_and_what_it_overrode(client_as, admin, staff):
    blocker = GroupFactory(name="No routing deletes", defaults=0)
    Rule.objects.create(
        group=blocker, area="routing", actions=mask_of(["delete"]), effect=Effect.DENY
    )
    staff.access_groups.add(blocker)
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert cell(body, "Routing", DELETE).startswith("✗ Denied")
    assert "overrides" in cell(body, "Routing", DELETE)
    assert why(body, "Routing", DELETE) == [
        "Group 'No routing deletes': deny delete on Routing",
        NSE_ROUTING,
    ]
    assert "overrides" not in cell(body, "Routing", READ)


def test_grid_names_the_users_own_rule(client_as, admin, staff):
    Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert cell(body, "CDR", READ).startswith("✓ Allowed")
    assert why(body, "CDR", READ) == ["The user's own rule: allow read on CDR"]


def test_grid_for_an_administrator_says_so_once(client_as, admin):
    body = client_as(admin).get(f"/settings/users/{admin.pk}/access/").content.decode()
    assert text(body).count("Administrator: every action on every area") == 1
    assert text(body).count("✓ Allowed") == 4 * len(all_areas())
    assert why(body, "Audit Log", DELETE) == [
        "Administrator: every action on every area; rules do not apply"
    ]


def test_grid_for_a_user_without_groups_explains_why_nothing_is_allowed(client_as, admin, outsider):
    body = client_as(admin).get(f"/settings/users/{outsider.pk}/access/").content.decode()
    assert text(body).count("No groups and no own rules") == 1
    assert "✓ Allowed" not in text(body) and "✗ Denied" in text(body)


def test_grid_for_an_inactive_user_says_inactive(client_as, admin, staff):
    staff.is_active = False
    staff.save()
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert text(body).count("Inactive user: an inactive user can do nothing") == 1
    assert "✓ Allowed" not in text(body) and "✗ Denied" in text(body)


def test_grid_does_not_rely_on_colour_alone(client_as, admin, staff):
    body = client_as(admin).get(f"/settings/users/{staff.pk}/access/").content.decode()
    assert 'class="cell cell--yes"' in body and 'class="cell cell--no"' in body
    assert "✓</span> Allowed" in body and "✗</span> Denied" in body


# session, signed-in user, target, every group (the what-if choices, each marked whether
# the target is a member) and the rules of the target's groups with their own (the grid,
# explained); a what-if adds the chosen groups (form) and their rules (their rows were
# read already)
QUERIES_NOW = 5
QUERIES_WHAT_IF = 7


def test_access_page_queries_do_not_grow_with_groups_and_rules(
    client_as, admin, staff, django_assert_num_queries
):
    """The page costs the same handful of queries with two groups or forty, and with a
    what-if: nothing is loaded per group, rule or cell."""
    client = client_as(admin)
    url = f"/settings/users/{staff.pk}/access/"
    client.get(url)  # warm the session and the permission cache
    with django_assert_num_queries(QUERIES_NOW):
        client.get(url)
    groups = []
    for number in range(40):
        group = GroupFactory(name=f"Team {number}", defaults=0)
        for area in ("customer", "billing", "card"):
            Rule.objects.create(group=group, area=area, actions=mask_of(["read"]))
        Rule.objects.create(group=group, area="cdr", actions=1, effect=Effect.DENY)
        groups.append(group)
    staff.access_groups.add(*groups[:20])
    client.get(url)
    with django_assert_num_queries(QUERIES_NOW):
        client.get(url)
    what_if = {"what_if": "1", "groups": [group.pk for group in groups]}
    with django_assert_num_queries(QUERIES_WHAT_IF):
        body = client.get(url, what_if).content.decode()
    assert "Team 39" in body.split('id="what-if"', 1)[1]


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


def test_what_if_marks_the_cells_that_would_change(client_as, admin, staff):
    billing = GroupFactory(name="Billing team", defaults=0)
    Rule.objects.create(group=billing, area="billing", actions=mask_of(["read", "update"]))
    body = (
        client_as(admin)
        .get(f"/settings/users/{staff.pk}/access/", {"what_if": "1", "groups": [billing.pk]})
        .content.decode()
    )
    now, what_if = body.split('id="what-if"', 1)
    # five cells lose their allow (routing CRUD, carrier read), two gain one (billing)
    assert "7 cells would change compared with now" in text(what_if)
    assert cell(what_if, "Routing", DELETE).startswith("✗ Denied")
    assert cell(what_if, "Routing", DELETE).endswith("◆ (would change: now ✓ allowed)")
    assert cell(what_if, "Billing", UPDATE).endswith("(would change: now ✗ denied)")
    assert "would change" not in cell(what_if, "Customers", READ)
    assert what_if.count("cell--changed") == 7
    assert "would change" not in now and "cell--changed" not in now


def test_what_if_with_the_current_groups_changes_nothing(client_as, admin, staff, staff_group):
    body = (
        client_as(admin)
        .get(f"/settings/users/{staff.pk}/access/", {"what_if": "1", "groups": [staff_group.pk]})
        .content.decode()
    )
    assert "Nothing would change compared with now." in text(body)
    assert "cell--changed" not in body


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
    body = (
        client_as(admin).get(f"/settings/users/{staff.pk}/access/", {"try": "1"}).content.decode()
    )
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
    assert why(body, "Users", CREATE) == [
        "Group 'Creators': default permissions create, read on every area (it has no allow rule)"
    ]


def test_what_if_checks_the_current_groups_then_the_chosen_ones(
    client_as, admin, staff, staff_group
):
    from tests.factories import GroupFactory

    other = GroupFactory(name="Billing team")
    client = client_as(admin)
    page = client.get(f"/settings/users/{staff.pk}/access/", {"try": "1"}).content.decode()
    assert f'value="{staff_group.pk}" checked' in page
    assert f'value="{other.pk}" checked' not in page
    chosen = client.get(
        f"/settings/users/{staff.pk}/access/", {"what_if": "1", "groups": [other.pk]}
    ).content.decode()
    assert f'value="{other.pk}" checked' in chosen
    assert f'value="{staff_group.pk}" checked' not in chosen


def test_the_group_chooser_is_written_only_when_asked_for(client_as, admin, staff):
    client = client_as(admin)
    url = f"/settings/users/{staff.pk}/access/"
    plain = client.get(url).content.decode()
    assert 'form method="get" action="#what-if"' not in plain
    assert 'href="?try=1#what-if"' in plain
    chooser = client.get(url, {"try": "1"}).content.decode()
    assert 'form method="get" action="#what-if"' in chooser and 'name="groups"' in chooser
