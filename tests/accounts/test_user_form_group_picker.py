"""The user form's group picker at a thousand groups: built without a template per option,
ticked groups first, a filter box that JavaScript reveals (the list works without it), and
the same queries whatever the number of groups."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import GroupFactory

pytestmark = pytest.mark.django_db


def offered(body: str) -> list[tuple[str, bool]]:
    """The group checkboxes top to bottom: (name, ticked)."""
    return [
        (name, "checked" in attributes)
        for attributes, name in re.findall(
            r'<input type="checkbox" name="groups" value="\d+" id="id_groups_\d+"'
            r"([^>]*)> ([^<]+)</label>",
            body,
        )
    ]


def test_the_users_groups_come_first_then_the_others_by_name(client_as, admin, staff):
    for name in ("Alpha", "Omega", "Delta"):
        GroupFactory(name=name)
    staff.access_groups.add(GroupFactory(name="Zulu"))
    body = client_as(admin).get(f"/settings/users/{staff.pk}/edit/").content.decode()
    assert offered(body) == [
        ("Network Services Engineers", True),
        ("Zulu", True),
        ("Alpha", False),
        ("Delta", False),
        ("Omega", False),
    ]
    # the filter box is there for JavaScript to reveal; without it the list scrolls
    assert re.search(r'<div class="group-filter" data-group-filter hidden>', body)
    assert 'aria-controls="id_groups_options"' in body


def test_a_group_name_is_escaped(client_as, admin, staff):
    GroupFactory(name='<b>"Bold"</b> & co')
    body = client_as(admin).get(f"/settings/users/{staff.pk}/edit/").content.decode()
    assert "&lt;b&gt;&quot;Bold&quot;&lt;/b&gt; &amp; co" in body and "<b>" not in body


@pytest.mark.parametrize("viewer", ["admin", "manager"])
def test_the_edit_page_runs_the_same_queries_at_five_and_at_sixty_groups(
    client_as, request, viewer, outsider
):
    client = client_as(request.getfixturevalue(viewer))
    url = f"/settings/users/{outsider.pk}/edit/"
    GroupFactory.create_batch(5)
    client.get(url)  # warm the permission cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    GroupFactory.create_batch(55)
    # groups that grant nothing: within a user manager's reach
    outsider.access_groups.add(*GroupFactory.create_batch(3, defaults=0))
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).content.decode()
    assert len(many) == len(few)
    assert len(offered(body)) >= 63 and [ticked for _, ticked in offered(body)][:3] == [True] * 3
