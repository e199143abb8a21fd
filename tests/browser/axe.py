"""axe-core (bundled by axe-playwright-python) on the page a test has open: the serious and
critical violations, one a line. Used by the page walk (test_accessibility) and by the
journeys on the pages only a journey reaches (the code step, an invitation...)."""

from axe_playwright_python.sync_playwright import Axe

BLOCKING = {"serious", "critical"}


def audit_current(page) -> str:
    """The serious or critical violations of the page as it is now, one a line."""
    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        where = page.url.split("/", 3)[-1]
        found.append(f"/{where}: {violation['id']} ({violation['impact']}) at {targets}")
    return "\n".join(found)


def assert_accessible_now(page) -> None:
    problems = audit_current(page)
    assert problems == "", "serious or critical axe violations:\n" + problems
