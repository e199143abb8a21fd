"""Issue 13 in a real browser: editing a rule's area and effect, one Add for several
areas, the add form keeping its choices, the grid's legend of sources, and the what-if
grid marking what would change."""

import re

import pytest

from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions.models import Effect, Rule
from tests.browser.conftest import SCREENSHOTS
from tests.factories import GroupFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rules_table(page) -> list[str]:
    """Each row of the rules table as a person reads it: area, path, access, effect."""
    rows = page.locator("table.rules tbody tr").all()
    return [
        re.sub(r"\s+", " ", row.inner_text()).replace(" Edit Delete", "").strip() for row in rows
    ]


def checked(form, name: str) -> list[str]:
    return [
        box.get_attribute("value")
        for box in form.locator(f"input[name={name}]").all()
        if box.is_checked()
    ]


def test_admin_moves_a_group_rule_to_another_area_and_turns_it_into_a_deny(
    page, sign_in, admin, screenshot
):
    group = GroupFactory(name="Billing desk")
    Rule.objects.create(group=group, area="billing", actions=mask_of(["read"]))
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    sign_in(admin)
    page.goto(f"/settings/groups/{group.pk}/")
    page.locator("table.rules tr", has_text="/api/cp/billing").get_by_role(
        "link", name="Edit"
    ).click()
    page.wait_for_url("**/rules/*/edit/")
    page.get_by_label("Area", exact=True).select_option(label="Rate Cards (/api/cp/card)")
    page.get_by_label("Delete", exact=True).check()
    page.get_by_label("Deny", exact=True).check()
    screenshot("rule-edit-area-effect")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url(f"**/settings/groups/{group.pk}/")
    assert "Rule of Billing desk saved: deny read, delete on Rate Cards." in page.inner_text("main")
    assert rules_table(page) == [
        "Rate Cards /api/cp/card read delete ✗ deny",
        "Customers /api/cp/customer read ✓ allow",
    ]
    assert AuditEntry.objects.filter(
        message="Rule for group Billing desk changed from allow read on billing to deny read, "
        "delete on card."
    ).exists()

    # Moving it onto an area and effect the group already has is refused on the field.
    page.locator("table.rules tr", has_text="/api/cp/card").get_by_role("link", name="Edit").click()
    page.get_by_label("Area", exact=True).select_option("customer")
    page.get_by_label("Allow", exact=True).check()
    page.get_by_role("button", name="Save rule").click()
    error = page.locator(".field--error .error")
    assert error.inner_text() == (
        "Area: This group already has an allow rule on Customers; edit its access instead."
    )
    screenshot("rule-edit-duplicate")


def test_admin_moves_a_users_own_rule_to_another_area(page, sign_in, admin, staff, screenshot):
    Rule.objects.create(user=staff, area="cdr", actions=mask_of(["read"]))
    sign_in(admin)
    page.goto(f"/settings/users/{staff.pk}/")
    page.locator("table.rules tr", has_text="/api/cp/cdr").get_by_role("link", name="Edit").click()
    page.get_by_label("Area", exact=True).select_option("billing")
    page.get_by_label("Deny", exact=True).check()
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url(f"**/settings/users/{staff.pk}/")
    assert rules_table(page) == ["Billing /api/cp/billing read ✗ deny"]
    assert f"Rule of {staff.email} saved: deny read on Billing." in page.inner_text("main")
    screenshot("user-rule-edited")


def test_one_add_gives_three_areas_the_same_access_and_the_form_keeps_the_choices(
    page, sign_in, admin, screenshot
):
    group = GroupFactory(name="Billing desk")
    sign_in(admin)
    page.goto(f"/settings/groups/{group.pk}/")
    form = page.locator("form.rule-add")
    for label in ("Billing (/api/cp/billing)", "Customers (/api/cp/customer)", "Rate Cards"):
        form.get_by_label(label).check()
    form.get_by_label("Read", exact=True).check()
    form.get_by_label("Update", exact=True).check()
    screenshot("rule-add-three-areas")
    form.get_by_role("button", name="Add").click()
    page.wait_for_url(re.compile(r".*\?area=customer&area=card&area=billing&.*#add-rule$"))
    assert "3 rules added to Billing desk" in page.inner_text("main")
    assert rules_table(page) == [
        "Billing /api/cp/billing read update ✓ allow",
        "Rate Cards /api/cp/card read update ✓ allow",
        "Customers /api/cp/customer read update ✓ allow",
    ]
    # The choices stay ticked: a similar rule is one change and one click away.
    form = page.locator("form.rule-add")
    assert checked(form, "area") == ["customer", "card", "billing"]
    assert checked(form, "access") == ["read", "update"]
    assert checked(form, "effect") == ["allow"]
    screenshot("rule-add-kept-choices")
    form.get_by_label("Rate Cards").uncheck()
    form.get_by_label("Read", exact=True).uncheck()
    form.get_by_label("Update", exact=True).uncheck()
    form.get_by_label("Delete", exact=True).check()
    form.get_by_label("Deny", exact=True).check()
    form.get_by_role("button", name="Add").click()
    page.wait_for_url(re.compile(r".*effect=deny#add-rule$"))
    assert "2 rules added to Billing desk" in page.inner_text("main")
    assert checked(page.locator("form.rule-add"), "effect") == ["deny"]
    assert group.rules.filter(effect=Effect.DENY).count() == 2


def test_a_multi_area_add_beyond_ones_own_access_adds_nothing_and_says_which_area(
    page, sign_in, manager, screenshot
):
    group = GroupFactory(name="Customer readers", defaults=0)
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    sign_in(manager)
    page.goto(f"/settings/groups/{group.pk}/")
    form = page.locator("form.rule-add")
    form.get_by_label("Users").check()
    form.get_by_label("Billing (/api/cp/billing)").check()
    form.get_by_label("Carriers").check()
    form.get_by_label("Read", exact=True).check()
    form.get_by_role("button", name="Add").click()
    alert = page.get_by_role("alert")
    assert "Nothing was added: the rule on Carriers was refused." in alert.inner_text()
    assert "read on Carriers, which you do not hold yourself" in alert.inner_text()
    # the form kept what was ticked, to fix and resend
    assert checked(page.locator("form.rule-add"), "area") == ["carrier", "billing", "user"]
    screenshot("rule-add-refused-area")
    assert list(group.rules.values_list("area", flat=True)) == ["customer"]


def test_the_grid_states_each_source_once_by_area_label(page, sign_in, admin, staff, screenshot):
    cards = GroupFactory(name="Card readers", defaults=0)
    Rule.objects.create(group=cards, area="card", actions=mask_of(["read"]))
    staff.access_groups.add(cards)
    sign_in(admin)
    page.goto(f"/settings/users/{staff.pk}/access/")
    screenshot("grid-legend")
    now = page.locator("section.card", has=page.locator("#grid-now"))
    legend = now.locator("ol.grid-sources li")
    sentences = [
        re.sub(r"^\d+ Source \d+: ", "", re.sub(r"\s+", " ", item.text_content()).strip())
        for item in legend.all()
    ]
    assert "Group 'Card readers': allow read on Rate Cards" in sentences
    assert "Not granted: no group and no own rule allows this action on this area" in sentences
    text = now.inner_text()
    for sentence in sentences:
        assert text.count(sentence) == 1, sentence
    # A cell refers to its source by number; following it lands on the legend's line.
    routing_delete = now.locator("#grid-now tr", has_text="Routing").locator("td").nth(3)
    assert routing_delete.inner_text().startswith("✓ Allowed")
    assert routing_delete.locator("a.ref").count() == 1
    routing_delete.locator("a.ref").click()
    target = page.locator("li:target")
    assert target.inner_text().endswith(
        "Group 'Network Services Engineers': allow create, read, update, delete on Routing"
    )
    assert " on card" not in text and " on routing" not in text


def test_the_what_if_grid_marks_the_cells_that_would_change(
    page, sign_in, admin, staff, staff_group, screenshot
):
    billing = GroupFactory(name="Billing team", defaults=0)
    Rule.objects.create(group=billing, area="billing", actions=mask_of(["read", "update"]))
    sign_in(admin)
    page.goto(f"/settings/users/{staff.pk}/access/")
    page.locator("#what-if").get_by_role("link", name="Choose groups to try…").click()
    what_if = page.locator("#what-if")
    what_if.get_by_label("Network Services Engineers").uncheck()
    what_if.get_by_label("Billing team").check()
    what_if.get_by_role("button", name="Show the grid").click()
    page.wait_for_url(re.compile(r".*what_if=1.*"))
    what_if = page.locator("#what-if")
    assert "7 cells would change compared with now" in what_if.get_by_role("status").inner_text()
    changed = what_if.locator("td.cell--changed")
    assert changed.count() == 7
    routing_read = what_if.locator("tr", has_text="Routing").locator("td").nth(1)
    assert "cell--changed" in routing_read.get_attribute("class")
    assert "Denied" in routing_read.inner_text()
    assert "(would change: now ✓ allowed)" in routing_read.inner_text()
    billing_update = what_if.locator("tr", has_text="Billing").locator("td").nth(2)
    assert "(would change: now ✗ denied)" in billing_update.inner_text()
    customers_read = what_if.locator("tr", has_text="Customers").locator("td").nth(1)
    assert "would change" not in customers_read.inner_text()
    # the grid of now has no marks, and nothing was saved
    assert page.locator("#grid-now td.cell--changed").count() == 0
    assert list(staff.access_groups.all()) == [staff_group]
    screenshot("grid-what-if-changes")
    what_if.locator("table").screenshot(path=str(SCREENSHOTS / "grid-what-if-table.png"))
