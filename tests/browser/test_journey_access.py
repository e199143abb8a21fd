"""Journeys through team access in a real browser, one test per user story: an
administrator sets up a user and groups on the pages, and the people concerned sign in
in their own browsers and find exactly what the access model promises them.

The starting cast (administrator, resellers, their records) comes from factories;
everything a person would do on a page is done on the page."""

import datetime
import zoneinfo
from pathlib import Path

import pytest

from accounts.models import User
from controlpanel.kit.areas import all_areas, mask_of
from permissions.models import Rule
from tests.areas.factories import CustomerFactory, TicketFactory
from tests.factories import GroupFactory, ResellerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHOSEN = "a long chosen passphrase 2026"
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


# --- what a person reads on a page ------------------------------------------------------
def facts(page) -> dict[str, str]:
    """The label/value pairs of the first ``dl.facts`` on the page."""
    return page.locator("dl.facts").first.evaluate(
        """dl => Object.fromEntries([...dl.querySelectorAll('dt')].map(
            dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))"""
    )


def grid(table) -> dict[str, dict[str, bool]]:
    """A permission grid as {api path: {action: allowed}}, read from its cells' verdicts."""
    return table.evaluate(
        """table => {
            const actions = [...table.querySelectorAll('thead th')].slice(1)
                .map(th => th.innerText.trim().toLowerCase());
            return Object.fromEntries([...table.querySelectorAll('tbody tr')].map(tr => [
                tr.querySelector('th code').innerText.trim(),
                Object.fromEntries([...tr.querySelectorAll('td')].map((td, i) => [
                    actions[i], td.querySelector('.verdict').innerText.includes('Allowed')]))
            ]));
        }"""
    )


def allowed_cells(cells: dict[str, dict[str, bool]]) -> dict[str, set[str]]:
    """The grid's allowed actions by area, areas with none left out."""
    found = {path: {a for a, yes in actions.items() if yes} for path, actions in cells.items()}
    return {path: actions for path, actions in found.items() if actions}


def sidebar(page) -> list[str]:
    return [link.inner_text().strip() for link in page.locator("nav.sidebar a").all()]


def sign_in_elsewhere(new_page, email: str, secret: str):
    """The person signs in in their own browser; returns that browser's page."""
    other = new_page()
    other.goto("/accounts/login/")
    other.fill("input[name=email]", email)
    other.fill("input[name=password]", secret)
    other.click("button[type=submit]")
    other.wait_for_url(lambda url: "/accounts/login/" not in url)
    return other


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --- 1. a user with everything set ------------------------------------------------------
def test_admin_creates_a_user_with_every_setting_and_the_user_gets_exactly_that(
    page, new_page, sign_in, admin, screenshot
):
    acme = ResellerFactory(name="Acme Telecom")
    bluewave = ResellerFactory(name="Bluewave Telecom")
    customers = GroupFactory(name="Customer desk", defaults=0)
    Rule.objects.create(group=customers, area="customer", actions=mask_of(["read", "update"]))
    tickets = GroupFactory(name="Ticket readers", defaults=0)
    Rule.objects.create(group=tickets, area="support-ticket", actions=mask_of(["read"]))
    GroupFactory(name="Billing desk")
    own = CustomerFactory(name="Acme Hosting", reseller=acme)
    CustomerFactory(name="Bluewave Hosting", reseller=bluewave)
    sharer = UserFactory(email="sue@acme.example", reseller=acme, shared_ticket=True)
    keeper = UserFactory(email="ken@acme.example", reseller=acme, shared_ticket=False)
    shared = TicketFactory(subject="Shared outage", customer=own, raised_by=sharer)
    TicketFactory(subject="Private question", customer=own, raised_by=keeper)
    opened = datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    type(shared).objects.filter(pk=shared.pk).update(created_at=opened, updated_at=opened)

    sign_in(admin)
    page.goto("/settings/users/")
    page.click("text=+ New user")
    page.fill("input[name=name]", "Nora New")
    page.fill("input[name=email]", "nora@acme.example")
    page.fill("input[name=password1]", CHOSEN)
    page.fill("input[name=password2]", CHOSEN)
    page.check("input[name=role][value=user]")
    page.locator("label", has_text="Customer desk").locator("input").check()
    page.locator("label", has_text="Ticket readers").locator("input").check()
    page.select_option("select[name=reseller]", label="Acme Telecom")
    page.fill("input[name=timezone]", "Asia/Tokyo")
    page.fill("textarea[name=ip_whitelist]", "127.0.0.1\n10.0.0.")
    page.check("input[name=shared_ticket]")
    screenshot("access-1-user-form-filled")
    page.click("main form button.primary")
    page.wait_for_url("**/settings/users/*/")
    screenshot("access-1-user-detail")

    assert "User nora@acme.example was created" in page.content()
    shown = facts(page)
    assert shown["Name"] == "Nora New"
    assert shown["E-mail"] == "nora@acme.example"
    assert shown["Role"] == "User"
    assert shown["Reseller"] == "Acme Telecom"
    assert shown["Time zone"] == "Asia/Tokyo"
    assert shown["IP whitelist"].split() == ["127.0.0.1", "10.0.0."]
    assert shown["Shared ticket"] == "yes"
    chips = page.locator("ul.chips a.chip").all_inner_texts()
    assert sorted(chips) == ["Customer desk", "Ticket readers"]

    nora = sign_in_elsewhere(new_page, "nora@acme.example", CHOSEN)
    shot(nora, "access-1-new-user-dashboard")
    assert "Welcome, Nora New" in nora.content()
    # Times are in her zone: her sign-in time, and a ticket opened at noon UTC is 21:00.
    signed_in = User.objects.get(email="nora@acme.example").last_login.astimezone(TOKYO)
    assert f"Signed in at {signed_in:%Y-%m-%d %H:%M} JST" in nora.content()
    assert sorted(sidebar(nora)) == ["Customers", "Dashboard", "Support Tickets"]

    nora.click("nav.sidebar a:has-text('Support Tickets')")
    shot(nora, "access-1-new-user-tickets")
    rows = nora.locator("main table tbody tr")
    assert rows.count() == 1, "only the ticket of the colleague who shares tickets"
    assert "Shared outage" in rows.first.inner_text()
    assert "2026-01-15 21:00" in rows.first.inner_text()
    assert "Private question" not in nora.content()
    assert nora.locator("main .page-head a", has_text="New").count() == 0

    nora.click("nav.sidebar a:has-text('Customers')")
    assert "Acme Hosting" in nora.content()
    assert "Bluewave Hosting" not in nora.content()
    assert nora.goto("/billing/").status == 403
    assert nora.goto("/settings/users/").status == 403


# --- 2. groups: defaults, granular rules, deny beats allow -------------------------------
def add_rule(page, area: str, actions: list[str], effect: str = "allow") -> None:
    """Fill the group page's "Add a row" form and submit it: exactly this area and these
    actions (the form keeps the previous add's choices, as a person would see)."""
    form = page.locator("form.rule-add")
    for box in form.locator("input[name=area]").all():
        box.set_checked(box.get_attribute("value") == area)
    for box in form.locator("input[name=access]").all():
        box.set_checked(box.get_attribute("value") in actions)
    form.locator(f"input[name=effect][value={effect}]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Rule added" in page.content()


def rule_row(page, api_path: str, effect: str):
    return page.locator("table.rules tbody tr").filter(has_text=api_path).filter(has_text=effect)


def rules_shown(page) -> list[tuple[str, list[str], str]]:
    """The group page's rules table: (path, actions, effect) per row."""
    found = []
    for row in page.locator("table.rules tbody tr").all():
        cells = row.locator("td")
        effect = "deny" if "deny" in cells.nth(3).inner_text() else "allow"
        found.append(
            (cells.nth(1).inner_text(), cells.nth(2).locator(".chip").all_inner_texts(), effect)
        )
    return sorted(found)


def dashboard_access(page) -> dict[str, set[str]]:
    """The member's own "What you can do" table: {api path: actions}, areas with none left out."""
    page.goto("/")
    rows = {}
    for row in page.locator("main table tbody tr").all():
        cells = row.locator("td")
        actions = set(cells.nth(2).locator(".pill--ok").all_inner_texts())
        if actions:
            rows[cells.nth(1).inner_text().strip()] = actions
    return rows


def edit_member_groups(page, member, tick: list[str]) -> None:
    """The administrator ticks groups on the member's edit page and saves."""
    page.goto(f"/settings/users/{member.pk}/")
    page.click("main .actions a:has-text('Edit')")
    for name in tick:
        page.locator(".groups-choice label", has_text=name).locator("input").check()
    page.click("main form button.primary")
    page.wait_for_url(f"**/settings/users/{member.pk}/")
    assert f"User {member.email} was saved." in page.content()


def test_group_defaults_then_granular_rules_then_a_deny_in_another_group_refuses(
    page, new_page, sign_in, admin, password, screenshot
):
    max_ = UserFactory(email="max@example.com", name="Max Member")
    every_area = {area.api_path for area in all_areas()}
    crud = {"create", "read", "update", "delete"}

    sign_in(admin)
    page.goto("/settings/users/")
    page.click("text=+ New group")
    defaults = page.locator("input[name=defaults]")
    assert defaults.count() == 4
    assert all(box.is_checked() for box in defaults.all()), "a new group starts with CRUD"
    page.fill("input[name=name]", "Operations")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/settings/groups/*/")
    mode = page.locator("section.mode")
    assert "Defaults mode" in mode.inner_text()
    assert sorted(mode.locator(".pill--ok").all_inner_texts()) == sorted(crud)
    assert "every area" in mode.inner_text()
    screenshot("access-2-group-defaults")

    edit_member_groups(page, max_, ["Operations"])
    member = sign_in_elsewhere(new_page, max_.email, password)
    assert dashboard_access(member) == {path: crud for path in every_area}
    member.goto("/customers/")
    member.click("main .page-head a:has-text('New customer')")
    member.fill("input[name=name]", "Max Trading")
    member.click("main form button[type=submit]")
    member.wait_for_url("**/customers/*/")
    assert "Max Trading" in member.locator("main h1").inner_text()
    shot(member, "access-2-member-created-a-customer")

    page.goto("/settings/groups/")
    page.click("main a:has-text('Operations')")
    add_rule(page, "customer", ["create", "read", "update", "delete"])
    add_rule(page, "routing", ["read", "update"])
    add_rule(page, "billing", ["read"])
    mode = page.locator("section.mode")
    assert "Granular mode" in mode.inner_text()
    assert "nullified" in mode.inner_text()

    rule_row(page, "/api/cp/routing", "allow").locator("a:has-text('Edit')").click()
    page.locator("input[name=access][value=update]").uncheck()
    page.click("main form button.primary")
    page.wait_for_url("**/settings/groups/*/")
    rule_row(page, "/api/cp/billing", "allow").locator("a:has-text('Delete')").click()
    page.click("main form button[type=submit]")
    page.wait_for_url("**/settings/groups/*/")
    assert rules_shown(page) == [
        ("/api/cp/customer", ["create", "read", "update", "delete"], "allow"),
        ("/api/cp/routing", ["read"], "allow"),
    ]
    screenshot("access-2-group-after-edits")
    assert dashboard_access(member) == {"/api/cp/customer": crud, "/api/cp/routing": {"read"}}

    page.goto("/settings/groups/new/")
    page.fill("input[name=name]", "Customer freeze")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/settings/groups/*/")
    add_rule(page, "cdr", ["read"])
    add_rule(page, "customer", ["create"], effect="deny")
    edit_member_groups(page, max_, ["Customer freeze"])

    member.context.close()
    member = sign_in_elsewhere(new_page, max_.email, password)
    assert dashboard_access(member) == {
        "/api/cp/customer": {"read", "update", "delete"},
        "/api/cp/routing": {"read"},
        "/api/cp/cdr": {"read"},
    }
    member.goto("/customers/")
    assert member.locator("main .page-head a", has_text="New").count() == 0
    member.click("main table a:has-text('Max Trading')")
    assert member.locator("main a:has-text('Edit')").count() == 1, "update is still theirs"
    refused = member.goto("/customers/new/")
    shot(member, "access-2-member-refused-create")
    assert refused.status == 403
    text = member.locator("main").inner_text()
    assert "Missing permission: create on Customers" in text
    # The page says which deny took it away: asking for another grant would not help.
    assert "group 'Customer freeze': deny rule takes away create on customer" in text
    assert "grant it to one of your groups" not in text
    assert member.goto("/cdrs/").status == 200


# --- 3. Create Default Reseller, twice --------------------------------------------------
RESELLER_PRESET = {
    "/api/cp/customer": {"create", "read", "update", "delete"},
    "/api/cp/contact": {"create", "read", "update", "delete"},
    "/api/cp/routing": {"create", "read", "update", "delete"},
    "/api/cp/support-ticket": {"create", "read", "update", "delete"},
    "/api/cp/card": {"read"},
    "/api/cp/billing": {"read"},
    "/api/cp/cdr": {"read"},
}


def test_create_default_reseller_twice_makes_reseller_and_reseller_2_with_the_preset(
    page, sign_in, admin, screenshot
):
    sign_in(admin)
    made = []
    for expected in ("Reseller", "Reseller 2"):
        page.goto("/settings/users/")
        page.click("button:has-text('Create Default Reseller')")
        page.wait_for_url("**/settings/groups/*/")
        assert page.locator("main h1").inner_text() == expected
        assert f"Group {expected} was created with the reseller preset" in page.content()
        made.append(page.url)

    page.goto("/settings/users/")
    listed = page.locator("table.groups-table tbody tr td:first-child").all_inner_texts()
    assert listed == ["Reseller", "Reseller 2"]
    for url in made:
        page.goto(url)
        assert "Granular mode" in page.locator("section.mode").inner_text()
        assert {
            path: set(actions) for path, actions, effect in rules_shown(page) if effect == "allow"
        } == RESELLER_PRESET
        assert all(effect == "allow" for _, _, effect in rules_shown(page))
        assert allowed_cells(grid(page.locator("table.permission-grid"))) == RESELLER_PRESET
    screenshot("access-3-reseller-group")


# --- 4. what-if preview -----------------------------------------------------------------
def test_what_if_preview_changes_the_grid_and_saves_nothing(
    page, sign_in, admin, staff, staff_group, screenshot
):
    billing = GroupFactory(name="Billing desk", defaults=0)
    Rule.objects.create(group=billing, area="billing", actions=mask_of(["read", "update"]))
    GroupFactory(name="Auditors", defaults=mask_of(["read"]))

    sign_in(admin)
    page.goto(f"/settings/users/{staff.pk}/")
    page.click("main a:has-text('Effective permissions')")
    page.wait_for_url(f"**/settings/users/{staff.pk}/access/")
    now = allowed_cells(grid(page.locator("table.permission-grid").first))
    assert now == {
        "/api/cp/routing": {"create", "read", "update", "delete"},
        "/api/cp/carrier": {"read"},
    }
    page.click("#what-if a:has-text('Choose groups to try')")
    what_if = page.locator("form.what-if")
    assert what_if.locator("label", has_text=staff_group.name).locator("input").is_checked()
    what_if.locator("label", has_text=staff_group.name).locator("input").uncheck()
    what_if.locator("label", has_text="Billing desk").locator("input").check()
    what_if.locator("button[type=submit]").click()
    page.wait_for_load_state()
    screenshot("access-4-what-if")

    grids = page.locator("table.permission-grid")
    assert grids.count() == 2
    assert allowed_cells(grid(grids.nth(0))) == now, "the current grid is unchanged"
    assert allowed_cells(grid(grids.nth(1))) == {"/api/cp/billing": {"read", "update"}}
    assert "With Billing desk" in page.locator("#what-if").inner_text()
    assert "nothing has been saved" in page.locator("#what-if").inner_text().lower()

    page.goto(f"/settings/users/{staff.pk}/")
    assert page.locator("ul.chips a.chip").all_inner_texts() == [staff_group.name]
    page.goto(f"/settings/users/{staff.pk}/access/")
    assert allowed_cells(grid(page.locator("table.permission-grid").first)) == now


# --- 5. another reseller's row answers 404 ----------------------------------------------
def test_resellers_user_opens_their_customer_but_another_resellers_answers_404(
    new_page, reseller, reseller_user, password
):
    own = CustomerFactory(name="Acme Hosting", reseller=reseller)
    theirs = CustomerFactory(
        name="Bluewave Secret Hosting", reseller=ResellerFactory(name="Bluewave Telecom")
    )

    rita = sign_in_elsewhere(new_page, reseller_user.email, password)
    rita.click("nav.sidebar a:has-text('Customers')")
    assert "Bluewave" not in rita.content()
    rita.click("main table a:has-text('Acme Hosting')")
    rita.wait_for_url(f"**/customers/{own.pk}/")
    assert rita.locator("main h1").inner_text() == "Acme Hosting"
    shot(rita, "access-5-own-customer")

    guessed = rita.goto(f"/customers/{theirs.pk}/")
    shot(rita, "access-5-other-resellers-customer")
    assert guessed.status == 404
    assert "Bluewave" not in rita.content()
    assert "Secret" not in rita.content()


# --- 6. no one manages what they do not hold --------------------------------------------
def test_manager_is_refused_an_administrators_edit_page_and_a_stronger_group(
    page, sign_in, manager, admin, outsider, staff_group, screenshot
):
    sign_in(manager)
    page.goto("/settings/users/")
    admin_row = page.locator("table.users-table tbody tr").filter(has_text=admin.email)
    assert admin_row.locator("a:has-text('Edit')").count() == 0

    page.goto(f"/settings/users/{admin.pk}/")
    assert page.locator("main .actions a:has-text('Edit')").count() == 0
    assert "Only an administrator can edit" in page.locator("main").inner_text()

    refused = page.goto(f"/settings/users/{admin.pk}/edit/")
    screenshot("access-6-admin-edit-refused")
    assert refused.status == 403
    text = page.locator("main").inner_text()
    assert "Only an administrator can edit, reset, deactivate or delete an administrator." in text
    assert admin.email not in text
    assert "Missing permission" not in text, "Mia does hold update on Users"

    page.goto(f"/settings/users/{outsider.pk}/edit/")
    box = page.locator(f"input[name=groups][value='{staff_group.pk}']")
    # Whatever the widget shows (another change may disable it), the server decides: tick
    # it as someone editing the page in the browser's tools would.
    box.evaluate("input => { input.disabled = false; input.checked = true; }")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main form button.primary")
    screenshot("access-6-stronger-group-refused")
    assert answer.value.status == 403
    errors = page.locator("main").inner_text()
    assert "which you do not hold yourself" in errors
    assert "routing" in errors.lower()

    page.goto(f"/settings/users/{outsider.pk}/")
    assert page.locator("ul.chips a.chip").count() == 0

    page.goto("/settings/users/new/")
    page.fill("input[name=name]", "Nick New")
    page.fill("input[name=email]", "nick@example.com")
    box = page.locator(f"input[name=groups][value='{staff_group.pk}']")
    box.evaluate("input => { input.disabled = false; input.checked = true; }")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main form button.primary")
    assert answer.value.status == 403
    assert "which you do not hold yourself" in page.locator("main").inner_text()
    page.goto("/settings/users/?q=nick%40example.com")
    assert "No users match" in page.locator("table.users-table").inner_text()
