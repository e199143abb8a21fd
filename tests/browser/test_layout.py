"""The layout on a phone (390 px) and a laptop (1280 px): no page scrolls sideways, the
navigation folds into a menu that opens without JavaScript, long names wrap, and the error
pages (404, 500, an expired form) look like the rest of the panel and lead back."""

import pytest
from django.test import override_settings
from django.urls import path

from controlpanel.audit.log import AuditEntry
from controlpanel.kit.areas import mask_of
from controlpanel.kit.declarations import public
from permissions.models import Effect, Rule
from tests.factories import GroupFactory, UserFactory

from .conftest import SCREENSHOTS
from .pages import LONG, VISITOR_PAGES, admin_pages, build_world, limited_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 860}
WIDTHS = pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])


@pytest.fixture
def screenshot_dir():
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


def sideways_scroll(page) -> int:
    """How many pixels the document is wider than the window (0: it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def walk(page, paths) -> str:
    """The pages among ``paths`` that scroll sideways, one a line ("" when none does)."""
    overflowing = []
    for url in paths:
        page.goto(url)
        extra = sideways_scroll(page)
        if extra > 0:
            overflowing.append(f"{url}: {extra}px too wide")
    return "\n".join(overflowing)


def sign_in_at(new_page, user, password, viewport):
    page = new_page(viewport=viewport)
    page.goto("/accounts/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


@WIDTHS
def test_no_page_scrolls_sideways_for_an_administrator(new_page, admin, password, viewport):
    world = build_world(raiser=admin)
    page = sign_in_at(new_page, admin, password, viewport)
    entry = AuditEntry.objects.order_by("-pk").first()
    assert walk(page, [*admin_pages(world), f"/settings/audit/{entry.pk}/"]) == ""


@WIDTHS
def test_no_page_scrolls_sideways_for_a_limited_user(new_page, staff, admin, password, viewport):
    world = build_world(raiser=admin)
    page = sign_in_at(new_page, staff, password, viewport)
    assert walk(page, limited_pages(world)) == ""


@WIDTHS
def test_no_page_scrolls_sideways_before_signing_in(new_page, viewport):
    assert walk(new_page(viewport=viewport), VISITOR_PAGES) == ""


@WIDTHS
def test_key_pages_as_screenshots(new_page, admin, password, viewport, screenshot_dir):
    world = build_world(raiser=admin)
    page = sign_in_at(new_page, admin, password, viewport)
    width = viewport["width"]
    for name, url in [
        ("dashboard", "/"),
        ("users", "/settings/users/"),
        ("user-detail", f"/settings/users/{world.member.pk}/"),
        ("customer-detail", f"/customers/{world.customer.pk}/"),
        ("group-detail", f"/settings/groups/{world.group.pk}/"),
    ]:
        page.goto(url)
        page.screenshot(path=str(screenshot_dir / f"layout-{name}-{width}.png"), full_page=True)
        assert sideways_scroll(page) <= 0, url


def test_the_phone_menu_opens_without_javascript(new_page, admin, password, screenshot_dir):
    page = sign_in_at(new_page, admin, password, PHONE)
    nav = page.get_by_role("navigation", name="Main")
    users = nav.get_by_role("link", name="Users")
    assert not users.is_visible()
    nav.get_by_text("Menu").click()
    assert users.is_visible()
    assert sideways_scroll(page) <= 0
    page.screenshot(path=str(screenshot_dir / "layout-menu-open-390.png"))
    context = page.context
    context.close()

    # The same with scripts switched off: the menu is HTML, not JavaScript.
    page = sign_in_at(new_page, admin, password, {**PHONE})
    page.context.route("**/*.js", lambda route: route.abort())
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_text("Menu").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.wait_for_url("**/settings/users/")


def test_the_sidebar_shows_every_link_on_a_laptop(new_page, admin, password):
    page = sign_in_at(new_page, admin, password, LAPTOP)
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.get_by_text("Menu").is_visible()
    for label in ("Dashboard", "Customers", "Users", "Groups", "Audit Log", "Access review"):
        assert nav.get_by_role("link", name=label).is_visible(), label


def test_the_users_table_shows_its_last_column_on_a_laptop(new_page, admin, password):
    build_world(raiser=admin)
    page = sign_in_at(new_page, admin, password, LAPTOP)
    page.goto("/settings/users/")
    # Nothing of the table hides beyond the right edge of any box around it.
    clipped = page.locator("table.users-table").evaluate(
        """table => {
            const cells = table.querySelectorAll('tr > :last-child *, tr > :last-child');
            const right = Math.max(...[...cells].map(c => c.getBoundingClientRect().right));
            const hidden = [];
            for (let box = table.parentElement; box; box = box.parentElement) {
                const edge = box.getBoundingClientRect().right;
                if (box.scrollWidth > box.clientWidth || right > edge + 1)
                    hidden.push(box.tagName + '.' + box.className);
            }
            return hidden;
        }"""
    )
    assert clipped == []


@WIDTHS
def test_long_names_wrap_instead_of_widening_the_page(new_page, admin, password, viewport):
    world = build_world(raiser=admin)
    page = sign_in_at(new_page, admin, password, viewport)
    for url in [
        f"/settings/users/{world.member.pk}/",
        f"/settings/groups/{world.group.pk}/",
        f"/settings/resellers/{world.reseller.pk}/",
        "/settings/users/",
        "/settings/groups/",
        "/settings/resellers/",
    ]:
        page.goto(url)
        heading_or_cell = page.get_by_text(LONG, exact=False).filter(visible=True).first
        box = heading_or_cell.bounding_box()
        assert box["x"] + box["width"] <= viewport["width"], url
        assert sideways_scroll(page) <= 0, url


# --- Error pages -------------------------------------------------------------------------


def test_a_missing_page_says_not_found_and_leads_back(new_page, admin, password, screenshot_dir):
    page = sign_in_at(new_page, admin, password, LAPTOP)
    response = page.goto("/no-such-page/")
    assert response.status == 404
    assert "not found" in page.get_by_role("heading", level=1).inner_text().lower()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").count()
    page.screenshot(path=str(screenshot_dir / "error-404.png"), full_page=True)
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_url(lambda url: url.endswith(":" + url.split(":")[-1].split("/")[0] + "/"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")


@public
def _boom(request):
    raise RuntimeError("the database fell over")


urlpatterns = [path("boom/", _boom)]


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_shows_the_styled_page(new_page, screenshot_dir):
    page = new_page(viewport=PHONE)
    response = page.goto("/boom/")
    assert response.status == 500
    assert page.get_by_role("heading", level=1).inner_text() == "Something went wrong"
    assert page.get_by_role("link", name="Back to the dashboard").get_attribute("href") == "/"
    # The site's own stylesheet, not Django's bare text.
    topbar = page.locator(".topbar")
    background = topbar.evaluate("bar => getComputedStyle(bar).backgroundColor")
    assert background == "rgb(23, 32, 46)"
    assert sideways_scroll(page) <= 0
    page.screenshot(path=str(screenshot_dir / "error-500.png"), full_page=True)


def test_an_expired_form_gets_a_plain_page_and_a_way_back(
    new_page, admin, password, screenshot_dir
):
    page = sign_in_at(new_page, admin, password, LAPTOP)
    page.goto("/customers/new/")
    page.fill("input[name=name]", "Northwind Voice")
    page.context.clear_cookies(name="csrftoken")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Create customer").click()
    assert posted.value.status == 403
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "This form has expired"
    assert "sent from another site" in page.locator("main").inner_text()
    page.screenshot(path=str(screenshot_dir / "error-csrf.png"), full_page=True)
    page.get_by_role("link", name="Reload the form and try again").click()
    page.wait_for_url("**/customers/new/")
    page.fill("input[name=name]", "Northwind Voice")
    page.get_by_role("button", name="Create customer").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Northwind Voice"


def test_the_favicon_is_served(page):
    response = page.goto("/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    page.goto("/accounts/login/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(icon).status == 200


# --- The access review in the navigation ----------------------------------------------------


def test_the_access_review_is_linked_for_those_who_may_read_users(new_page, admin, password):
    readers = GroupFactory(name="User readers")
    Rule.objects.create(group=readers, area="user", actions=mask_of(["read"]))
    reader = UserFactory(email="reader@example.com", groups=[readers])
    # Every action everywhere, except reading users: the review lists users, so no link.
    no_users = GroupFactory(name="Everything but users")
    Rule.objects.create(group=no_users, area="user", actions=mask_of(["read"]), effect=Effect.DENY)
    plain = UserFactory(email="plain@example.com", groups=[no_users])

    for person, shown in [(admin, True), (reader, True), (plain, False)]:
        page = sign_in_at(new_page, person, password, LAPTOP)
        link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Access review")
        assert link.count() == (1 if shown else 0), person.email
        if shown:
            link.click()
            page.wait_for_url("**/settings/access-review/")
            assert page.get_by_role("heading", level=1).count()
        page.context.close()
