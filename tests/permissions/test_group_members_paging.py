"""The group page lists its members a page at a time (keyset by e-mail) and counts them
up to a cap, so a group of thousands costs what a small one does."""

import re

import pytest
from django.urls import NoReverseMatch, reverse

from controlpanel.kit.urls import row_url
from permissions import views
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def member_emails(body: str) -> list[str]:
    section = body.split('id="members"', 1)[1].split("</section>", 1)[0]
    return re.findall(r">(m\d+@example\.com)<", section)


@pytest.fixture
def big_group(monkeypatch):
    monkeypatch.setattr(views, "MEMBERS_PER_PAGE", 3)
    group = GroupFactory(name="Big")
    for n in range(7):
        UserFactory(email=f"m{n}@example.com", name="", groups=[group])
    return group


def test_members_come_a_page_at_a_time_by_email_with_every_link(client_as, admin, big_group):
    client = client_as(admin)
    url = f"/settings/groups/{big_group.pk}/"
    first = client.get(url).content.decode()
    assert member_emails(first) == ["m0@example.com", "m1@example.com", "m2@example.com"]
    assert "7 members" in first
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert following.endswith("#members")
    second = client.get(following.split("#")[0]).content.decode()
    assert member_emails(second) == ["m3@example.com", "m4@example.com", "m5@example.com"]
    last = client.get(url, {"last": "1"}).content.decode()
    assert member_emails(last) == ["m4@example.com", "m5@example.com", "m6@example.com"]


def test_a_page_link_that_is_not_one_shows_the_first_page_and_says_so(client_as, admin, big_group):
    body = client_as(admin).get(f"/settings/groups/{big_group.pk}/", {"after": "x"}).content
    body = body.decode()
    assert "This page link is not valid" in body
    assert member_emails(body)[0] == "m0@example.com"


def test_the_count_is_capped(client_as, admin, big_group, monkeypatch):
    monkeypatch.setattr(views, "MEMBERS_COUNT_CAP", 5)
    body = client_as(admin).get(f"/settings/groups/{big_group.pk}/").content.decode()
    assert "More than 5 members" in body


def test_the_page_costs_the_same_queries_for_three_members_or_seven(
    client_as, admin, big_group, django_assert_max_num_queries
):
    client = client_as(admin)
    client.get(f"/settings/groups/{big_group.pk}/")
    small = GroupFactory(name="Small")
    client.get(f"/settings/groups/{small.pk}/")
    with django_assert_max_num_queries(9):
        client.get(f"/settings/groups/{big_group.pk}/")


def test_row_url_is_reverse():
    assert row_url("user-detail")(42) == reverse("user-detail", args=[42])
    assert row_url("group-detail")(7) == reverse("group-detail", args=[7])
    assert row_url("group-rule-update", 2)(7, 9) == reverse("group-rule-update", args=[7, 9])
    with pytest.raises(NoReverseMatch):
        row_url("user-list")  # takes no id


def test_group_names_follow_creates_renames_and_deletes():
    from permissions.selectors import group_names

    first = GroupFactory(name="Alpha")
    assert (first.pk, "Alpha") in group_names()
    second = GroupFactory(name="Beta")
    assert [name for _, name in group_names()] == ["Alpha", "Beta"]
    first.name = "Gamma"
    first.save()
    assert [name for _, name in group_names()] == ["Beta", "Gamma"]
    second.delete()
    assert group_names() == [(first.pk, "Gamma")]


def test_a_large_group_walks_the_email_order_and_pages_the_same(
    client_as, admin, big_group, monkeypatch
):
    from permissions import user_selectors

    client = client_as(admin)
    url = f"/settings/groups/{big_group.pk}/"
    few = [member_emails(client.get(url).content.decode())]
    monkeypatch.setattr(user_selectors, "MEMBERS_FEW", 2)  # 7 members: "many"
    many = [member_emails(client.get(url).content.decode())]
    assert few == many == [["m0@example.com", "m1@example.com", "m2@example.com"]]
    assert member_emails(client.get(url, {"last": "1"}).content.decode())[-1] == "m6@example.com"


def test_the_users_list_filtered_by_a_small_or_large_group_lists_the_same(
    client_as, admin, big_group, monkeypatch
):
    from permissions import user_selectors

    def emails(response):
        return re.findall(r"users-table__email\">(m\d+@example\.com)<", response.content.decode())

    client = client_as(admin)
    few = emails(client.get("/settings/users/", {"group": big_group.pk}))
    monkeypatch.setattr(user_selectors, "MEMBERS_FEW", 2)
    assert emails(client.get("/settings/users/", {"group": big_group.pk})) == few
    assert few == [f"m{n}@example.com" for n in range(7)]
