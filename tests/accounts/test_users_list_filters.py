"""The users list's sort and filters (Setup > Settings > Users), read from the query string
so a list can be bookmarked; the refusal a user manager sees on an administrator's pages;
the group choices a user form offers; errors next to their fields."""

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from controlpanel.kit.areas import mask_of
from permissions.checks import (
    CANNOT_MANAGE_ADMINISTRATOR,
    groups_beyond_reach,
    may_edit_user,
    may_manage_users,
)
from permissions.models import Rule
from tests.factories import AdminFactory, GroupFactory, ResellerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def listed(response) -> list[str]:
    """The e-mail addresses of the listed users, top to bottom."""
    assert response.status_code == 200, response.status_code
    return re.findall(
        r'<div class="muted small users-table__email">([^<]+)</div>', response.content.decode()
    )


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


@pytest.fixture
def cast(db, admin):
    """Four users besides Ada, differing in name, e-mail and last sign-in."""
    return {
        "bea": UserFactory(
            email="bea@example.com", name="Zoe Last", last_login=NOW - datetime.timedelta(days=1)
        ),
        "cal": UserFactory(
            email="cal@example.com", name="alan first", last_login=NOW - datetime.timedelta(days=9)
        ),
        "dan": UserFactory(email="dan@example.com", name="", last_login=None),
        "eve": UserFactory(email="eve@example.com", name="Mia Middle", last_login=NOW),
    }


# --- Sorting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # the name shown (the e-mail when there is none), case-insensitively
        ("name", ["ada", "cal", "dan", "eve", "bea"]),
        ("-name", ["bea", "eve", "dan", "cal", "ada"]),
        ("email", ["ada", "bea", "cal", "dan", "eve"]),
        ("-email", ["eve", "dan", "cal", "bea", "ada"]),
        # never signed in counts as the oldest sign-in
        ("last_login", ["ada", "dan", "cal", "bea", "eve"]),
        ("-last_login", ["eve", "bea", "cal", "dan", "ada"]),
    ],
)
def test_the_list_sorts_by_each_column_both_ways(client_as, admin, cast, sort, expected):
    client = client_as(admin)
    User.objects.filter(pk=admin.pk).update(last_login=None)  # as if Ada never signed in
    order = listed(client.get("/settings/users/", {"sort": sort}))
    assert [email.split("@")[0] for email in order] == expected


def test_sort_headers_link_to_the_other_direction_and_say_which_is_sorted(client_as, admin, cast):
    body = client_as(admin).get("/settings/users/", {"sort": "name", "role": "user"}).content
    body = body.decode()
    name_header = re.search(
        r'<th scope="col" aria-sort="ascending">\s*<a class="sort sort--ascending"[^>]*>Name</a>',
        body,
    )
    assert name_header, "the sorted column says so with aria-sort"
    assert body.count("aria-sort=") == 1
    # the Name link reverses the order, the others sort by themselves; filters are kept
    links = dict(
        (label, unescape(href))
        for href, label in re.findall(r'<a class="sort[^"]*" href="([^"]+)">([^<]+)</a>', body)
    )
    assert links["Name"] == "?role=user&sort=-name"
    assert links["E-mail"] == "?role=user"  # e-mail ascending is the default order
    assert links["Last sign-in"] == "?role=user&sort=last_login"
    reversed_body = client_as(admin).get("/settings/users/?role=user&sort=-name").content.decode()
    assert re.search(
        r'aria-sort="descending">\s*'
        r'<a class="sort sort--descending" href="\?role=user&amp;sort=name"',
        reversed_body,
    )


# --- Filters -------------------------------------------------------------------------------


def test_filter_by_role(client_as, admin, cast):
    AdminFactory(email="abe@example.com")
    client = client_as(admin)
    assert listed(client.get("/settings/users/", {"role": "administrator"})) == [
        "abe@example.com",
        "ada@example.com",
    ]
    assert "ada@example.com" not in listed(client.get("/settings/users/", {"role": "user"}))


def test_filter_by_status_as_the_user_page_shows_it(client_as, admin, cast):
    invited = User.objects.create_user("ivy@example.com", None, role="user")
    cast["bea"].is_active = False
    cast["bea"].save()
    # Cal fails to sign in until the lockout starts, as anyone would at the login page
    stranger = Client()
    for _ in range(10):
        stranger.post("/accounts/login/", {"email": "CAL@example.com", "password": "wrong guess"})
    client = client_as(admin)
    assert listed(client.get("/settings/users/", {"status": "invited"})) == [invited.email]
    assert listed(client.get("/settings/users/", {"status": "deactivated"})) == ["bea@example.com"]
    assert listed(client.get("/settings/users/", {"status": "locked"})) == ["cal@example.com"]
    active = listed(client.get("/settings/users/", {"status": "active"}))
    assert active == ["ada@example.com", "cal@example.com", "dan@example.com", "eve@example.com"]


def test_filter_by_group_lists_each_member_once(client_as, admin, cast, staff, staff_group):
    other = GroupFactory(name="Night shift")
    cast["cal"].access_groups.set([staff_group, other])
    client = client_as(admin)
    assert listed(client.get("/settings/users/", {"group": staff_group.pk})) == [
        "cal@example.com",
        "sam@example.com",
    ]
    body = client.get("/settings/users/", {"group": other.pk}).content.decode()
    assert f'<option value="{other.pk}" selected>Night shift</option>' in body


def test_filter_by_reseller_or_by_none(client_as, admin, cast, reseller_user):
    globex = ResellerFactory(name="Globex")
    UserFactory(name="Gus Grant", email="gus@globex.example", reseller=globex)
    client = client_as(admin)
    assert listed(client.get("/settings/users/", {"reseller": globex.pk})) == ["gus@globex.example"]
    unscoped = listed(client.get("/settings/users/", {"reseller": "none"}))
    assert "gus@globex.example" not in unscoped and "rita@acme.example" not in unscoped
    assert "ada@example.com" in unscoped


def test_filters_combine_with_search_and_sort(client_as, admin, cast, staff_group):
    for person in ("bea", "cal", "eve"):
        cast[person].access_groups.add(staff_group)
    order = listed(
        client_as(admin).get(
            "/settings/users/", {"group": staff_group.pk, "q": "example", "sort": "-last_login"}
        )
    )
    assert order == ["eve@example.com", "bea@example.com", "cal@example.com"]


def link(response, rel: str) -> str:
    """The pagination link with this ``rel`` (first, prev, next, last), as the page gives it."""
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.content.decode())
    assert found, f"no {rel} link"
    return unescape(found.group(1))


def test_paging_keeps_the_filters_search_and_sort(client_as, admin, staff_group):
    for i in range(30):
        UserFactory(email=f"m{i:02d}@example.com", groups=[staff_group])
    UserFactory(email="outside@example.com")
    client = client_as(admin)
    first = client.get("/settings/users/", {"group": staff_group.pk, "sort": "-email"})
    body = unescape(first.content.decode())
    assert link(first, "next").startswith(f"/settings/users/?group={staff_group.pk}&sort=-email&")
    assert "30 users match the filters" in body
    # the search form carries the sort, and the selects show the filters
    assert '<input type="hidden" name="sort" value="-email">' in body
    second = client.get(link(first, "next"))
    assert listed(second) == [f"m{i:02d}@example.com" for i in range(4, -1, -1)]
    # the last page is a full page, counted from the end
    assert listed(client.get(link(first, "last"))) == [
        f"m{i:02d}@example.com" for i in range(24, -1, -1)
    ]
    assert listed(client.get(link(second, "prev"))) == listed(first)
    searched = client.get(f"/settings/users/?q=m0&group={staff_group.pk}&sort=-email")
    assert listed(searched)[0] == "m09@example.com"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("role=king", "Role: “king” is not a role"),
        ("status=zombie", "Status: “zombie” is not a status"),
        ("group=abc", "Group: There is no group “abc”"),
        ("group=999999", "Group: There is no group “999999”"),
        ("group=99999999999999999999999", "Group: There is no group"),
        ("reseller=abc", "Reseller: “abc” is not one of the resellers whose users you see"),
        ("sort=password", "Sort: “password” is not a sort"),
        ("sort=-", "Sort: “-” is not a sort"),
        (f"q={'x' * 101}", "Search: Search for at most 100 characters"),
    ],
)
def test_a_value_not_understood_is_named_and_ignored(client_as, admin, cast, query, named):
    cast["bea"].is_active = False
    cast["bea"].save()
    # the bad value comes last: it is the one the page reads
    response = client_as(admin).get(f"/settings/users/?status=deactivated&{query}")
    assert response.status_code == 200
    page = text(response)
    assert "were not understood and are ignored" in page and named in page
    if query.startswith("status"):
        assert len(listed(response)) == 5  # no status filter: everyone
    else:  # the valid filter still applies
        assert listed(response) == ["bea@example.com"]


def test_a_resellers_user_sees_and_filters_only_their_resellers_users(
    client_as, reseller, reseller_user, staff
):
    colleague = UserFactory(name="Rob Rowe", email="rob@acme.example", reseller=reseller)
    globex = ResellerFactory(name="Globex")
    UserFactory(name="Gus Grant", email="gus@globex.example", reseller=globex)
    client = client_as(reseller_user)
    page = client.get("/settings/users/")
    assert listed(page) == ["rita@acme.example", colleague.email]
    body = page.content.decode()
    # only their own reseller is offered, and no "none"
    assert "Globex" not in body and 'value="none"' not in body
    assert f'<option value="{reseller.pk}">Acme Telecom</option>' in body
    for query in ({"reseller": globex.pk}, {"reseller": "none"}):
        refused = client.get("/settings/users/", query)
        assert "is not one of the resellers whose users you see" in text(refused)
        assert listed(refused) == ["rita@acme.example", colleague.email]
    assert listed(client.get("/settings/users/", {"status": "active", "sort": "-email"})) == [
        colleague.email,
        "rita@acme.example",
    ]
    assert listed(client.get("/settings/users/", {"q": "sam"})) == []


@pytest.mark.parametrize("viewer", ["admin", "manager"])
def test_the_filtered_list_runs_a_fixed_number_of_queries(
    client_as, request, viewer, staff_group, django_assert_num_queries
):
    actor = request.getfixturevalue(viewer)
    reseller = ResellerFactory()
    groups = [staff_group, GroupFactory(), GroupFactory()]
    client = client_as(actor)
    url = f"/settings/users/?status=active&group={staff_group.pk}&sort=-last_login"

    def add_users(count):
        for i in range(count):
            UserFactory(
                groups=groups[: 1 + i % 3],
                reseller=reseller if i % 2 else None,
                last_login=NOW - datetime.timedelta(hours=i),
            )

    add_users(5)
    client.get(url)  # warm the permission cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add_users(40)
    # session, user, the group filtered by and its member ids (at most MEMBERS_FEW + 1), the
    # reseller choices, users count and page,
    # their groups (the resellers are joined), lockouts, the group filter's stamp, the
    # groups column (2: its paginator's count, then its page with each group's counts as
    # subqueries); the actor's own answers come from the request (its user row and
    # permissions); a user manager's answers also read the page's users' access (two more)
    expected = 12 if viewer == "admin" else 14
    assert len(few) == expected
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert len(listed(response)) == 25


# --- Messages that agree with each other -------------------------------------------------


def test_a_user_manager_is_told_only_why_an_administrators_pages_are_closed(
    client_as, manager, admin
):
    client = client_as(manager)
    for url in (f"/settings/users/{admin.pk}/edit/", f"/settings/users/{admin.pk}/password/"):
        refused = client.get(url)
        assert refused.status_code == 403
        page = text(refused)
        assert CANNOT_MANAGE_ADMINISTRATOR in page
        # Mia may update users: nothing may say she lacks that permission
        assert "Missing permission" not in page and "grant it to" not in page
    detail = text(client.get(f"/settings/users/{admin.pk}/"))
    assert detail.count(CANNOT_MANAGE_ADMINISTRATOR) == 1
    assert f"/settings/users/{admin.pk}/edit/" not in detail


def test_the_list_offers_edit_only_where_the_services_would_allow_it(
    client_as, manager, admin, staff, outsider
):
    body = client_as(manager).get("/settings/users/").content.decode()
    assert f"/settings/users/{outsider.pk}/edit/" in body
    assert f"/settings/users/{outsider.pk}/password/" in body
    # an administrator, and Sam who holds routing and carriers that Mia does not
    for closed in (admin, staff):
        assert f"/settings/users/{closed.pk}/edit/" not in body
        assert f"/settings/users/{closed.pk}/password/" not in body
        assert f"/settings/users/{closed.pk}/access/" in body
    answers = may_manage_users(manager, [admin, staff, outsider], action="update")
    assert [bool(answers[u.pk]) for u in (admin, staff, outsider)] == [False, False, True]
    assert "Routing" in answers[staff.pk].reason


def test_a_refusal_for_lack_of_permission_says_which_one(staff, outsider):
    answer = may_edit_user(staff, outsider)
    assert not answer and answer.lacks == ("user", "update")
    assert "update in Users" in answer.reason


# --- Group choices that would be refused -----------------------------------------------------


@pytest.fixture
def billing_admins(db):
    group = GroupFactory(name="Billing admins")
    Rule.objects.create(group=group, area="billing", actions=mask_of(["create", "delete"]))
    return group


@pytest.fixture
def customer_desk(db):
    group = GroupFactory(name="Customer desk")
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read", "update"]))
    return group


def test_groups_granting_more_than_the_editor_holds_are_offered_disabled_with_why(
    client_as, manager, billing_admins, customer_desk
):
    body = client_as(manager).get("/settings/users/new/").content.decode()
    billing = re.search(
        rf'<input type="checkbox" name="groups" value="{billing_admins.pk}"[^>]*>', body
    )
    assert billing and "disabled" in billing.group(0)
    reason_id = re.search(r'aria-describedby="([^"]+)"', billing.group(0)).group(1)
    reason = re.search(rf'id="{reason_id}">([^<]+)<', body).group(1)
    assert reason == (
        "Not available to you: it grants create, delete on Billing, which you do not hold."
    )
    desk = re.search(
        rf'<input type="checkbox" name="groups" value="{customer_desk.pk}"[^>]*>', body
    )
    assert desk and "disabled" not in desk.group(0)
    # an administrator is offered every group
    assert groups_beyond_reach(AdminFactory()) == {}


def test_a_disabled_group_sent_anyway_is_refused_by_the_server(
    client_as, manager, outsider, billing_admins
):
    response = client_as(manager).post(
        f"/settings/users/{outsider.pk}/edit/",
        {
            "name": outsider.name,
            "email": outsider.email,
            "role": "user",
            "groups": [billing_admins.pk],
            "timezone": "UTC",
            "updated_at": outsider.updated_at.isoformat(),
        },
    )
    assert response.status_code == 403
    assert "which you do not hold yourself" in text(response)
    assert not outsider.access_groups.exists()


def test_a_group_the_user_already_has_stays_open_to_keep_or_remove(
    client_as, manager, outsider, billing_admins
):
    """Outsider is in Billing admins but a deny of their own takes billing away, so Mia may
    manage them; leaving the box enabled keeps them in it when she saves."""
    outsider.access_groups.set([billing_admins])
    Rule.objects.create(
        user=outsider, area="billing", actions=mask_of(["create", "delete"]), effect="deny"
    )
    body = client_as(manager).get(f"/settings/users/{outsider.pk}/edit/").content.decode()
    box = re.search(
        rf'<input type="checkbox" name="groups" value="{billing_admins.pk}"[^>]*>', body
    )
    assert "checked" in box.group(0) and "disabled" not in box.group(0)


# --- Errors next to their fields -----------------------------------------------------------


def test_a_field_error_is_shown_by_its_field_and_describes_it(client_as, admin):
    response = client_as(admin).post(
        "/settings/users/new/",
        {
            "email": "nina@example.com",
            "password1": "short",
            "password2": "short",
            "role": "user",
            "timezone": "Mars/Olympus",
        },
    )
    body = response.content.decode()
    for name, message in (
        ("password1", "This password is too short"),
        ("timezone", "Mars/Olympus is not a known time zone"),
    ):
        (field,) = re.findall(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', body)
        assert 'aria-invalid="true"' in field
        described_by = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
        assert f"id_{name}_error" in described_by
        error_block = re.search(rf'id="id_{name}_error">(.*?)</div>', body, re.S).group(1)
        assert message in unescape(error_block)
        # the summary above links to the field
        assert f'href="#id_{name}"' in body
    assert "password-requirements" in re.search(r'<input[^>]*name="password1"[^>]*>', body).group(0)
