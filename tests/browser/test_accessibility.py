"""axe-core on every kind of page, as an administrator, as a limited user and before signing
in: no violation of impact "serious" or "critical" (labels, contrast, landmarks, names...).
A failure prints each rule, the page and the elements at fault."""

import pytest
from django.test import override_settings

from controlpanel.audit.log import AuditEntry

from .axe import audit_current
from .pages import VISITOR_PAGES, admin_pages, build_world, limited_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 860}


def assert_accessible(page, paths):
    problems = audit(page, paths)
    assert problems == "", "serious or critical axe violations:\n" + problems


def audit(page, paths) -> str:
    """Every serious or critical violation on ``paths``, one a line ("" when none)."""
    found = []
    for url in paths:
        page.goto(url)
        found += audit_current(page).splitlines()
    return "\n".join(found)


def signed_in(new_page, user, password, viewport=LAPTOP):
    page = new_page(viewport=viewport)
    page.goto("/accounts/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_every_page_passes_axe_for_an_administrator(new_page, admin, password):
    world = build_world(raiser=admin)
    page = signed_in(new_page, admin, password)
    entry = AuditEntry.objects.order_by("-pk").first()
    assert_accessible(page, [*admin_pages(world), f"/settings/audit/{entry.pk}/"])


def test_every_page_passes_axe_for_a_limited_user(new_page, admin, staff, password):
    world = build_world(raiser=admin)
    assert_accessible(signed_in(new_page, staff, password), limited_pages(world))


def test_every_page_passes_axe_before_signing_in(new_page, admin, mailbox):
    page = new_page()
    assert_accessible(page, VISITOR_PAGES)
    # The page of the e-mailed reset link, reached as a person reaches it.
    page.goto("/accounts/password-reset/")
    page.fill("input[name=email]", admin.email)
    page.click("button[type=submit]")
    page.wait_for_url("**/password-reset/sent/")
    assert_accessible(page, [mailbox.link_to(admin.email)])


def test_the_phone_layout_passes_axe_with_the_menu_open(new_page, admin, password):
    world = build_world(raiser=admin)
    page = signed_in(new_page, admin, password, PHONE)
    page.get_by_role("navigation", name="Main").get_by_text("Menu").click()
    assert_accessible(page, ["/", "/settings/users/", f"/settings/users/{world.member.pk}/"])


@override_settings(ROOT_URLCONF="tests.browser.test_layout")
def test_the_server_error_page_passes_axe(new_page):
    assert_accessible(new_page(), ["/boom/"])


def test_the_expired_form_page_passes_axe(new_page, admin, password):
    page = signed_in(new_page, admin, password)
    page.goto("/customers/new/")
    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "This form has expired"
    problems = audit_current(page)
    assert problems == "", problems


def test_keyboard_focus_is_visible_and_skips_to_the_content(new_page, admin, password):
    page = signed_in(new_page, admin, password)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("el => el === document.activeElement") and skip.is_visible()
    page.keyboard.press("Tab")
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert ring[0] != "none" and ring[1] >= 2
    page.goto("/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
