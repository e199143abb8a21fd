"""Query budgets of a user's read-only page and edit form (the effective-permissions
grid's are in test_effective_grid.py): a fixed handful whatever the number of groups and
rules, the actor read once (the request's reading) for every link the page offers."""

import pytest

from permissions.models import Rule
from tests.factories import GroupFactory, UserFactory, mask_of

pytestmark = pytest.mark.django_db

# session, signed-in user, target, the target's groups, their own rules
DETAIL_QUERIES = 5
# one who may edit the user also sees the sign-in panel: lockout, the two kinds of
# two-factor devices, passkeys
DETAIL_QUERIES_EDITOR = DETAIL_QUERIES + 4
# a non-administrator who may update users also reads the target's access (two queries,
# once for the Edit, rule and Delete links)
DETAIL_QUERIES_MANAGER = DETAIL_QUERIES_EDITOR + 2
# session, signed-in user, target, the target's group ids, every group (the picker),
# the resellers (by id and name)
EDIT_QUERIES_ADMIN = 6


@pytest.fixture
def reader(db):
    """Reads users and groups through one group; may change nothing."""
    group = GroupFactory(name="Readers", defaults=0)
    Rule.objects.create(group=group, area="user", actions=mask_of(["read"]))
    Rule.objects.create(group=group, area="group", actions=mask_of(["read"]))
    return UserFactory(email="rory@example.com", name="Rory Reader", groups=[group])


def _many_groups_and_rules(user):
    groups = [GroupFactory(name=f"Team {number}", defaults=0) for number in range(15)]
    for group in groups:
        Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    user.access_groups.add(*groups)
    Rule.objects.create(user=user, area="billing", actions=mask_of(["read"]))


@pytest.mark.parametrize(
    ("viewer", "budget", "links"),
    [
        ("admin", DETAIL_QUERIES_EDITOR, True),
        ("reader", DETAIL_QUERIES, False),
        ("manager", DETAIL_QUERIES_MANAGER, True),
    ],
)
def test_the_user_page_reads_the_actor_once_for_all_its_links(
    client_as, request, viewer, budget, links, outsider, django_assert_num_queries
):
    client = client_as(request.getfixturevalue(viewer))
    url = f"/settings/users/{outsider.pk}/"
    client.get(url)  # warm the session and the permission cache
    with django_assert_num_queries(budget):
        body = client.get(url).content.decode()
    _many_groups_and_rules(outsider)
    with django_assert_num_queries(budget):
        more = client.get(url).content.decode()
    assert "Team 14" in more and "Team 14" not in body
    # the answers are still each link's own: edit, delete and the rule form
    for link in (f"/settings/users/{outsider.pk}/edit/", f"/settings/users/{outsider.pk}/delete/"):
        assert (link in more) is links
    assert ("Add a rule" in more) is links


def test_a_manager_is_refused_the_links_of_a_user_holding_more(
    client_as, manager, staff, django_assert_num_queries
):
    """The one reading of the target's access answers all three links: a user who holds
    what the manager lacks gets neither Edit, nor Delete, nor the rule form, and the
    page says why once."""
    Rule.objects.create(user=staff, area="billing", actions=mask_of(["delete"]))
    client = client_as(manager)
    url = f"/settings/users/{staff.pk}/"
    client.get(url)
    with django_assert_num_queries(DETAIL_QUERIES + 2):  # no sign-in panel
        body = client.get(url).content.decode()
    assert f"/settings/users/{staff.pk}/edit/" not in body
    assert f"/settings/users/{staff.pk}/delete/" not in body
    assert "Add a rule" not in body
    assert "which you cannot" in body


def test_the_edit_page_budget(client_as, admin, outsider, django_assert_num_queries):
    client = client_as(admin)
    url = f"/settings/users/{outsider.pk}/edit/"
    client.get(url)
    with django_assert_num_queries(EDIT_QUERIES_ADMIN):
        assert client.get(url).status_code == 200
    _many_groups_and_rules(outsider)
    with django_assert_num_queries(EDIT_QUERIES_ADMIN):
        assert client.get(url).status_code == 200
