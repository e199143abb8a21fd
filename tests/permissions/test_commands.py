"""The command-line contract of ACCESS_MODEL.md: list_areas, check_access and
set_whitelist, their output and exit statuses. check_access is checked against the
contract's worked examples, loaded with import_access."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.ipwhitelist import parse_whitelist, stored_whitelist
from accounts.models import User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import ACTIONS, all_areas
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
CRUD = ["create", "read", "update", "delete"]
AREAS = [area.key for area in all_areas()]
CONTRACT_AREAS = [
    "customer",
    "contact",
    "carrier",
    "card",
    "routing",
    "billing",
    "cdr",
    "support-ticket",
    "user",
    "group",
    "reseller",
    "audit-log",
]


def whitelist(*entries):
    return stored_whitelist(parse_whitelist(entries))


def import_file(manage, tmp_path, data) -> None:
    path = tmp_path / "access.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = manage("import_access", str(path))
    assert result.status == 0, result.err


# --- list_areas ----------------------------------------------------------------------


def test_list_areas_prints_key_label_and_api_path_from_the_registry(manage):
    result = manage("list_areas")
    assert result.status == 0
    lines = result.out.splitlines()
    assert lines == [f"{a.key}\t{a.label}\t{a.api_path}" for a in all_areas()]
    assert "customer\tCustomers\t/api/cp/customer" in lines
    assert "support-ticket\tSupport Tickets\t/api/cp/support-ticket" in lines
    assert [line.split("\t")[0] for line in lines[: len(CONTRACT_AREAS)]] == CONTRACT_AREAS


# --- check_access on the worked examples ---------------------------------------------

# Each example of ACCESS_MODEL.md as an import file (groups as given; "pat" is a `user`
# in all of them), and the expected actions on one area.
WORKED_EXAMPLES = {
    "D = CRUD, R = {}": (
        [{"name": "A", "defaults": CRUD}],
        lambda area: CRUD,
    ),
    "D = CRUD, R = {allow read on customer, contact, billing}": (
        [
            {
                "name": "A",
                "defaults": CRUD,
                "rules": [
                    {"area": area, "access": ["read"], "effect": "allow"}
                    for area in ("customer", "contact", "billing")
                ],
            }
        ],
        lambda area: ["read"] if area in ("customer", "contact", "billing") else [],
    ),
    "D = CR, R = {}": (
        [{"name": "A", "defaults": ["create", "read"]}],
        lambda area: ["create", "read"],
    ),
    "D = CRUD, R = {deny delete on billing}": (
        [
            {
                "name": "A",
                "defaults": CRUD,
                "rules": [{"area": "billing", "access": ["delete"], "effect": "deny"}],
            }
        ],
        lambda area: ["create", "read", "update"] if area == "billing" else CRUD,
    ),
    "A (D = R) and B (R = {allow update on routing})": (
        [
            {"name": "A", "defaults": ["read"]},
            {
                "name": "B",
                "rules": [{"area": "routing", "access": ["update"], "effect": "allow"}],
            },
        ],
        lambda area: ["read", "update"] if area == "routing" else ["read"],
    ),
    "A (D = CRUD) and B (R = {deny read on billing})": (
        [
            {"name": "A", "defaults": CRUD},
            {"name": "B", "rules": [{"area": "billing", "access": ["read"], "effect": "deny"}]},
        ],
        lambda area: ["create", "update", "delete"] if area == "billing" else CRUD,
    ),
}


@pytest.mark.parametrize("example", list(WORKED_EXAMPLES))
def test_check_access_agrees_with_the_worked_examples(manage, tmp_path, example):
    groups, expected = WORKED_EXAMPLES[example]
    import_file(
        manage,
        tmp_path,
        {
            "groups": groups,
            "users": [
                {"email": "pat@example.com", "role": "user", "groups": [g["name"] for g in groups]}
            ],
        },
    )
    for area in AREAS:
        for action in ACTIONS:
            result = manage("check_access", "pat@example.com", area, action)
            allowed = action in expected(area)
            assert result.status == (0 if allowed else 3), (area, action, result.out)
            assert result.out.splitlines()[0] == ("ALLOW" if allowed else "DENY")
            assert len(result.out.splitlines()) >= 2  # at least one reason


def test_check_access_names_the_groups_that_grant(manage, tmp_path):
    import_file(
        manage,
        tmp_path,
        {
            "groups": [
                {"name": "Readers", "defaults": ["read"]},
                {"name": "Routing", "rules": [{"area": "routing", "access": ["read"]}]},
            ],
            "users": [
                {"email": "pat@example.com", "role": "user", "groups": ["Readers", "Routing"]}
            ],
        },
    )
    result = manage("check_access", "pat@example.com", "routing", "read")
    assert result.out.splitlines() == [
        "ALLOW",
        "group 'Readers' default permissions grant read on every area (no allow rules)",
        "group 'Routing': allow rule grants read on routing",
    ]


def test_check_access_names_the_deny_that_wins(manage, tmp_path):
    import_file(
        manage,
        tmp_path,
        {
            "groups": [
                {"name": "A", "defaults": CRUD},
                {"name": "B", "rules": [{"area": "billing", "access": ["read"], "effect": "deny"}]},
            ],
            "users": [{"email": "pat@example.com", "role": "user", "groups": ["A", "B"]}],
        },
    )
    result = manage("check_access", "pat@example.com", "billing", "read")
    assert result.status == 3
    assert result.out.splitlines() == [
        "DENY",
        "group 'B': deny rule takes away read on billing",
        "overridden by the deny: group 'A' default permissions grant read on every area "
        "(no allow rules)",
        # B has only a deny rule, so it is in defaults mode too (all four, by default)
        "overridden by the deny: group 'B' default permissions grant read on every area "
        "(no allow rules)",
    ]


def test_check_access_says_a_user_without_groups_starts_with_nothing(manage, outsider):
    result = manage("check_access", outsider.email, "customer", "read")
    assert result.status == 3
    assert "no groups and no own rules" in result.out.splitlines()[1]


def test_check_access_finds_the_user_whatever_the_case(manage, staff):
    result = manage("check_access", "SAM@Example.com", "routing", "delete")
    assert (result.status, result.out.splitlines()[0]) == (0, "ALLOW")


def test_an_administrator_is_allowed_everything_with_the_reason(manage, admin):
    result = manage("check_access", admin.email, "audit-log", "delete")
    assert result.status == 0
    assert result.out.splitlines() == [
        "ALLOW",
        "administrator: every action on every area; rules do not apply",
    ]


def test_an_inactive_user_is_denied_even_as_administrator(manage, admin):
    admin.is_active = False
    admin.save()
    result = manage("check_access", admin.email, "customer", "read")
    assert result.status == 3
    assert result.out.splitlines() == ["DENY", "inactive user: an inactive user can do nothing"]


# --- check_access --ip ---------------------------------------------------------------


def test_ip_in_the_whitelist_is_allowed_with_the_matching_entry(manage, admin):
    admin.ip_whitelist = whitelist("192.0.2.7", "10.0.0.")
    admin.save()
    result = manage("check_access", admin.email, "customer", "read", "--ip", "10.0.0.42")
    assert result.status == 0
    assert result.out.splitlines()[-1] == "whitelist: 10.0.0.42 matches 10.0.0. (= 10.0.0.0/24)"


def test_ip_outside_the_whitelist_is_denied_even_for_an_administrator(manage, admin):
    admin.ip_whitelist = whitelist("192.0.2.7", "10.0.0.")
    admin.save()
    result = manage("check_access", admin.email, "customer", "read", "--ip", "1.2.3.4")
    assert result.status == 3
    assert result.out.splitlines() == [
        "DENY",
        "administrator: every action on every area; rules do not apply",
        "whitelist: 1.2.3.4 not in whitelist (entries: 192.0.2.7, 10.0.0.)",
    ]


def test_an_ipv4_mapped_address_matches_an_ipv4_entry(manage, admin):
    admin.ip_whitelist = whitelist("203.0.113.0/24")
    admin.save()
    result = manage("check_access", admin.email, "cdr", "read", "--ip", "::ffff:203.0.113.9")
    assert result.status == 0
    assert result.out.splitlines()[-1] == "whitelist: ::ffff:203.0.113.9 matches 203.0.113.0/24"


def test_an_empty_whitelist_lets_any_address_through(manage, admin):
    result = manage("check_access", admin.email, "cdr", "read", "--ip", "2001:db8::5")
    assert result.status == 0
    assert result.out.splitlines()[-1].startswith("whitelist: empty, so any address")


def test_the_whitelist_does_not_rescue_a_missing_permission(manage, outsider):
    result = manage("check_access", outsider.email, "cdr", "read", "--ip", "192.0.2.1")
    assert result.status == 3
    assert result.out.splitlines()[0] == "DENY"


# --- check_access bad arguments -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody@example.com", "customer", "read"), "no user with the e-mail address"),
        (
            ("ada@example.com", "bilings", "read"),
            "unknown area 'bilings' (did you mean 'billing'?); see manage.py list_areas",
        ),
        (("ada@example.com", "customer", "write"), "unknown action 'write'"),
        (("ada@example.com", "customer", "read", "--ip", "1.2.3"), "'1.2.3' is not an IP address"),
        (("ada@example.com", "customer", "read", "--ip", "10.0.0.0/8"), "is not an IP address"),
    ],
)
def test_bad_arguments_exit_with_status_2_and_a_clear_message(manage, admin, args, message):
    result = manage("check_access", *args)
    assert result.status == 2
    assert result.out == ""
    assert message in result.err


def test_missing_arguments_exit_with_status_2():
    result = subprocess.run(
        [sys.executable, "manage.py", "check_access", "ada@example.com"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "the following arguments are required: area, action" in result.stderr


def test_the_exit_statuses_hold_for_a_real_shell(tmp_path):
    """The contract is for scripts: run manage.py itself against a fresh database."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings.test",
    }

    def shell(*argv, stdin=None):
        return subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=REPO,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    assert shell("migrate", "--verbosity", "0").returncode == 0
    data = {
        "groups": [{"name": "Readers", "defaults": ["read"]}],
        "users": [{"email": "pat@example.com", "role": "user", "groups": ["Readers"]}],
    }
    assert shell("import_access", "-", stdin=json.dumps(data)).returncode == 0
    allowed = shell("check_access", "pat@example.com", "cdr", "read")
    assert (allowed.returncode, allowed.stdout.splitlines()[0]) == (0, "ALLOW")
    denied = shell("check_access", "pat@example.com", "cdr", "delete")
    assert (denied.returncode, denied.stdout.splitlines()[0]) == (3, "DENY")
    bad = shell("check_access", "pat@example.com", "cdrs", "read")
    assert bad.returncode == 2
    assert "unknown area 'cdrs'" in bad.stderr
    refused = shell("import_access", "-", stdin='{"users": [{"email": "x"}]}')
    assert refused.returncode == 1
    assert "1 error; nothing was changed." in refused.stderr


# --- set_whitelist ---------------------------------------------------------------------


def test_set_whitelist_stores_the_entries_and_prints_them(manage, staff):
    result = manage("set_whitelist", "SAM@example.com", "192.0.2.7", "10.0.0.", "2001:db8::/48")
    assert result.status == 0, result.err
    assert result.out.splitlines() == [
        "Whitelist of sam@example.com (3 entries; their sessions have ended):",
        "192.0.2.7\t192.0.2.7/32",
        "10.0.0.\t10.0.0.0/24",
        "2001:db8::/48\t2001:db8::/48",
    ]
    staff.refresh_from_db()
    assert staff.ip_whitelist == whitelist("192.0.2.7", "10.0.0.", "2001:db8::/48")
    entry = AuditEntry.objects.get(actor_label="set_whitelist")
    assert entry.object_id == str(staff.pk)
    assert entry.changes["ip_whitelist"] == {
        "before": [],
        "after": ["192.0.2.7", "10.0.0.", "2001:db8::/48"],
    }
    check = manage("check_access", staff.email, "routing", "read", "--ip", "10.0.0.9")
    assert check.status == 0


def test_set_whitelist_ends_the_users_sessions(manage, staff, client_as):
    client = client_as(staff)
    assert client.get("/accounts/profile/").status_code == 200
    manage("set_whitelist", staff.email, "127.0.0.1")
    response = client.get("/accounts/profile/")
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_set_whitelist_lists_every_bad_entry_and_saves_nothing(manage, staff):
    staff.ip_whitelist = whitelist("192.0.2.7")
    staff.save()
    result = manage("set_whitelist", staff.email, "1.1.1", "10.0.0.1", "300.1.1.1", "10.0.0.1/32")
    assert result.status == 1
    lines = result.err.splitlines()
    assert lines[0].startswith("Line 1: 1.1.1 is ambiguous: write 1.1.1. for the whole prefix")
    assert lines[1].startswith("Line 3: 300.1.1.1: 300 is not a valid octet (0 to 255)")
    assert lines[2].startswith("Line 4: 10.0.0.1/32 duplicates 10.0.0.1")
    assert lines[-1] == "CommandError: the whitelist was not changed."
    staff.refresh_from_db()
    assert staff.ip_whitelist == whitelist("192.0.2.7")
    assert not AuditEntry.objects.filter(actor_label="set_whitelist").exists()


def test_set_whitelist_clear_lets_any_address_in_again(manage, staff):
    staff.ip_whitelist = whitelist("192.0.2.7")
    staff.save()
    version = User.objects.get(pk=staff.pk).session_version
    result = manage("set_whitelist", staff.email, "--clear")
    assert result.status == 0
    assert result.out == (
        "Whitelist of sam@example.com cleared: any address may sign in. "
        "Their sessions have ended.\n"
    )
    staff.refresh_from_db()
    assert staff.ip_whitelist == []
    assert staff.session_version == version + 1


def test_set_whitelist_without_entries_explains_clear(manage, staff):
    result = manage("set_whitelist", staff.email)
    assert result.status == 2
    assert "use --clear" in result.err


def test_set_whitelist_refuses_entries_together_with_clear(manage, staff):
    result = manage("set_whitelist", staff.email, "10.0.0.", "--clear")
    assert result.status == 2
    assert "not both" in result.err


def test_set_whitelist_for_an_unknown_user_exits_with_status_2(manage, db):
    result = manage("set_whitelist", "ghost@example.com", "10.0.0.")
    assert result.status == 2
    assert "no user with the e-mail address 'ghost@example.com'" in result.err


def test_set_whitelist_reaches_a_locked_out_administrator(manage, admin):
    """Recovery: an administrator whose whitelist shuts them out gets back in."""
    admin.ip_whitelist = whitelist("198.51.100.1")
    admin.save()
    assert manage("check_access", admin.email, "user", "read", "--ip", "192.0.2.50").status == 3
    manage("set_whitelist", admin.email, "192.0.2.0/24")
    assert manage("check_access", admin.email, "user", "read", "--ip", "192.0.2.50").status == 0


def test_set_whitelist_leaves_other_users_alone(manage, staff):
    other = UserFactory(ip_whitelist=whitelist("192.0.2.1"))
    manage("set_whitelist", staff.email, "--clear")
    other.refresh_from_db()
    assert other.ip_whitelist == whitelist("192.0.2.1")
