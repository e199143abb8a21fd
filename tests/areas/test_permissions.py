"""Each page asks for its own action on its own area: without it, 403 and nothing
changes; the scope never stands in for a permission."""

import pytest
from django.urls import reverse

from controlpanel.areas.registry import business_definitions
from controlpanel.kit.areas import ACTIONS

from .cases import CASE_IDS, CASES
from .conftest import ROW_OF_AREA

# (action, method, URL name suffix, needs a row)
PAGES = [
    ("read", "get", "list", False),
    ("read", "get", "detail", True),
    ("create", "get", "create", False),
    ("create", "post", "create", False),
    ("update", "get", "update", True),
    ("update", "post", "update", True),
    ("delete", "get", "delete", True),
    ("delete", "post", "delete", True),
]
WRITABLE = [d.key for d in business_definitions() if not d.read_only]
CASE_OF = {case.key: case for case in CASES}


def _all_but(action):
    return [a for a in ACTIONS if a != action]


def _url(area, suffix, row):
    return reverse(f"{area}-{suffix}", args=[row.pk] if row is not None else None)


@pytest.mark.parametrize("area", WRITABLE)
@pytest.mark.parametrize(("action", "method", "suffix", "needs_row"), PAGES)
def test_a_page_is_refused_without_its_action(
    client_as, member, mine, area, action, method, suffix, needs_row
):
    user = member(allow={area: _all_but(action)})
    row = mine.row(area) if needs_row else None

    response = getattr(client_as(user), method)(_url(area, suffix, row))

    assert response.status_code == 403
    page = response.content.decode()
    assert f"<strong>{action}</strong>" in page
    assert f"<code>{area}</code>" in page


@pytest.mark.parametrize("area", WRITABLE)
@pytest.mark.parametrize(("action", "method", "suffix", "needs_row"), PAGES)
def test_a_page_opens_with_only_its_action(
    client_as, member, mine, area, action, method, suffix, needs_row
):
    user = member(allow={area: [action]})
    row = mine.row(area) if needs_row else None
    data = CASE_OF[area].create_data(mine) if method == "post" else None
    if method == "post" and suffix == "delete":
        row = _fresh_row(client_as, member, mine, area)

    response = getattr(client_as(user), method)(_url(area, suffix, row), data)

    assert response.status_code in (200, 302), response.content.decode()[:2000]


def _fresh_row(client_as, member, mine, area):
    """A row nothing else refers to, so deleting it is not refused."""
    case = CASE_OF[area]
    creator = member(shared_ticket=True)  # so others may see the ticket it raises
    client_as(creator).post(reverse(f"{area}-create"), case.create_data(mine))
    model = {d.key: d.model for d in business_definitions()}[area]
    field, value = case.lookup
    return model.objects.get(**{field: value})


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_refused_delete_leaves_the_row(client_as, member, mine, case):
    user = member(allow={case.key: ["read", "update"]})
    row = mine.row(case.key)

    response = client_as(user).post(reverse(f"{case.key}-delete", args=[row.pk]))

    assert response.status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_refused_create_writes_nothing(client_as, member, mine, case):
    user = member(allow={case.key: ["read"]})

    response = client_as(user).post(reverse(f"{case.key}-create"), case.create_data(mine))

    assert response.status_code == 403
    model = type(mine.row(case.key))
    assert not model.objects.filter(**dict([case.lookup])).exists()


def test_cdr_pages_need_read_on_cdr(client_as, member, mine):
    user = member(allow={"customer": ACTIONS})
    client = client_as(user)

    assert client.get(reverse("cdr-list")).status_code == 403
    assert client.get(reverse("cdr-detail", args=[mine.cdr.pk])).status_code == 403


def test_an_outsider_without_groups_is_refused_everywhere(client_as, outsider, mine):
    client = client_as(outsider)

    for area in ROW_OF_AREA:
        assert client.get(reverse(f"{area}-list")).status_code == 403
        assert client.get(reverse(f"{area}-detail", args=[mine.row(area).pk])).status_code == 403


def test_buttons_for_actions_the_user_lacks_are_hidden(client_as, member, mine):
    reader = member(allow={"customer": ["read"]})
    client = client_as(reader)

    listing = client.get(reverse("customer-list")).content.decode()
    detail = client.get(reverse("customer-detail", args=[mine.customer.pk])).content.decode()

    assert reverse("customer-create") not in listing
    assert reverse("customer-update", args=[mine.customer.pk]) not in detail
    assert reverse("customer-delete", args=[mine.customer.pk]) not in detail


def test_buttons_for_granted_actions_are_shown(client_as, member, mine):
    editor = member(allow={"customer": ["read", "create", "update", "delete"]})
    client = client_as(editor)

    listing = client.get(reverse("customer-list")).content.decode()
    detail = client.get(reverse("customer-detail", args=[mine.customer.pk])).content.decode()

    assert reverse("customer-create") in listing
    assert reverse("customer-update", args=[mine.customer.pk]) in detail
    assert reverse("customer-delete", args=[mine.customer.pk]) in detail


def test_related_rows_of_an_area_the_user_cannot_read_are_not_shown(client_as, member, mine):
    user = member(allow={"customer": ["read"]})

    page = client_as(user).get(reverse("customer-detail", args=[mine.customer.pk]))

    text = page.content.decode()
    assert "Acme Contact" not in text
    assert mine.invoice.number not in text


def test_related_rows_of_a_readable_area_are_shown(client_as, member, mine):
    user = member(allow={"customer": ["read"], "contact": ["read"], "billing": ["read"]})

    page = client_as(user).get(reverse("customer-detail", args=[mine.customer.pk]))

    text = page.content.decode()
    assert "Acme Contact" in text
    assert mine.invoice.number in text
