"""export_access / import_access: the JSON format of ACCESS_MODEL.md, a byte-identical round
trip, declarative and idempotent imports, and a file with any error changing nothing."""

import json
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from accounts.ipwhitelist import parse_whitelist, stored_whitelist
from accounts.models import Role, User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions import transfer
from permissions.models import Effect, Group, Rule
from permissions.resolver import effective_permissions
from resellers.models import Reseller
from tests.factories import AdminFactory, GroupFactory, ResellerFactory, RuleFactory, UserFactory

pytestmark = pytest.mark.django_db

CRUD = ["create", "read", "update", "delete"]

# The example of ACCESS_MODEL.md's command-line contract, verbatim.
CONTRACT_EXAMPLE = """
{
  "resellers": [{"name": "Acme Telecom"}],
  "groups": [
    {"name": "Billing", "defaults": ["create", "read", "update", "delete"],
     "rules": [{"area": "billing", "access": ["read", "update"], "effect": "allow"},
               {"area": "customer", "access": ["read"], "effect": "allow"}]}
  ],
  "users": [
    {"email": "ana@example.com", "name": "Ana", "role": "user",
     "groups": ["Billing"], "reseller": null, "timezone": "Europe/London",
     "ip_whitelist": ["1.1.1.1", "10.0.0.", "192.168.0.0/24"],
     "shared_ticket": false, "active": true,
     "rules": [{"area": "cdr", "access": ["read"], "effect": "allow"}]}
  ]
}
"""


def whitelist(*entries):
    return stored_whitelist(parse_whitelist(entries))


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def write_file(tmp_path, data, name="access.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def database_rows() -> dict:
    """Every row the import could touch, to prove that nothing changed."""
    return {
        "users": list(User.objects.order_by("pk").values()),
        "groups": list(Group.objects.order_by("pk").values()),
        "rules": list(Rule.objects.order_by("pk").values()),
        "members": list(Group.members.through.objects.order_by("pk").values()),
        "resellers": list(Reseller.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values_list("pk", flat=True)),
    }


@pytest.fixture
def configuration(admin, reseller):
    """A panel with something of every kind: resellers, a granular group, a defaults-mode
    group with a deny, a user with a whitelist and own rules, a reseller's user, an
    inactive user."""
    ResellerFactory(name="Beta Voice")
    billing = GroupFactory(name="Billing")
    RuleFactory(group=billing, area="customer", actions=mask_of(["read"]))
    RuleFactory(group=billing, area="billing", actions=mask_of(["update", "read"]))
    readers = GroupFactory(name="Readers", defaults=mask_of(["read"]))
    RuleFactory(group=readers, area="audit-log", actions=mask_of(["read"]), effect=Effect.DENY)
    ana = UserFactory(
        email="ana@example.com",
        name="Ana Álvarez",
        timezone="Europe/London",
        ip_whitelist=whitelist("1.1.1.1", "10.0.0.", "192.168.0.0/24"),
        shared_ticket=True,
        groups=[readers, billing],
    )
    RuleFactory(user=ana, area="cdr", actions=mask_of(["read"]))
    RuleFactory(user=ana, area="customer", actions=mask_of(["delete"]), effect=Effect.DENY)
    UserFactory(email="rita@acme.example", name="Rita", reseller=reseller, groups=[readers])
    UserFactory(email="ivan@example.com", name="Ivan", is_active=False)
    return {"billing": billing, "readers": readers, "ana": ana}


def exported(manage) -> str:
    result = manage("export_access")
    assert result.status == 0, result.err
    return result.out


# --- Export --------------------------------------------------------------------------


def test_export_writes_the_documented_format(manage, configuration):
    data = json.loads(exported(manage))
    assert list(data) == ["resellers", "groups", "users"]
    assert data["resellers"] == [{"name": "Acme Telecom"}, {"name": "Beta Voice"}]
    assert data["groups"] == [
        {
            "name": "Billing",
            "defaults": CRUD,
            "rules": [
                {"area": "billing", "access": ["read", "update"], "effect": "allow"},
                {"area": "customer", "access": ["read"], "effect": "allow"},
            ],
        },
        {
            "name": "Readers",
            "defaults": ["read"],
            "rules": [{"area": "audit-log", "access": ["read"], "effect": "deny"}],
        },
    ]
    ana = next(u for u in data["users"] if u["email"] == "ana@example.com")
    assert list(ana) == list(transfer.USER_KEYS)
    assert ana == {
        "email": "ana@example.com",
        "name": "Ana Álvarez",
        "role": "user",
        "groups": ["Billing", "Readers"],
        "reseller": None,
        "timezone": "Europe/London",
        "ip_whitelist": ["1.1.1.1", "10.0.0.", "192.168.0.0/24"],
        "shared_ticket": True,
        "active": True,
        "rules": [
            {"area": "cdr", "access": ["read"], "effect": "allow"},
            {"area": "customer", "access": ["delete"], "effect": "deny"},
        ],
    }
    rita = next(u for u in data["users"] if u["email"] == "rita@acme.example")
    assert rita["reseller"] == "Acme Telecom"
    assert [u["email"] for u in data["users"]] == [
        "ada@example.com",
        "ana@example.com",
        "ivan@example.com",
        "rita@acme.example",
    ]


def test_export_never_contains_passwords(manage, configuration):
    text = exported(manage)
    assert "password" not in text
    assert configuration["ana"].password not in text


def test_export_of_an_empty_panel_is_valid_json(manage):
    assert json.loads(exported(manage)) == {"resellers": [], "groups": [], "users": []}


def test_export_to_a_file_writes_the_same_json_and_says_what_it_wrote(
    manage, configuration, tmp_path
):
    target = tmp_path / "access.json"
    result = manage("export_access", str(target))
    assert result.status == 0
    assert result.out == f"Exported 2 resellers, 2 groups and 4 users to {target}.\n"
    assert target.read_text(encoding="utf-8") == exported(manage)
    assert [p.name for p in tmp_path.iterdir()] == ["access.json"]  # no temporary left


def test_export_to_an_unwritable_place_fails_with_status_2(manage, tmp_path):
    result = manage("export_access", str(tmp_path / "missing-folder" / "access.json"))
    assert result.status == 2
    assert "cannot write" in result.err


def test_export_skips_rules_on_areas_no_longer_in_the_registry_with_a_warning(
    manage, configuration
):
    Rule.objects.create(group=configuration["billing"], area="fax", actions=mask_of(["read"]))
    result = manage("export_access")
    assert "'fax'" not in result.out
    assert "warning: group 'Billing': skipped the allow rule on 'fax'" in result.err
    # what it did write imports cleanly
    assert transfer.validate(result.out, transfer.load_facts())


def test_export_reads_users_in_batches_with_constant_queries_per_batch(configuration):
    def queries_for(user_count: int) -> int:
        User.objects.exclude(role=Role.ADMINISTRATOR).delete()
        UserFactory.create_batch(user_count, groups=[configuration["readers"]])
        with CaptureQueriesContext(connection) as context:
            transfer.export_access(lambda text: None, batch_size=5)
        return len(context.captured_queries)

    five, ten, fifteen = queries_for(4), queries_for(9), queries_for(14)
    assert ten - five == fifteen - ten  # each extra batch costs the same
    assert ten - five <= 3


def test_export_writes_the_first_users_before_reading_the_last_batch(configuration):
    UserFactory.create_batch(30)
    seen_at = []
    with CaptureQueriesContext(connection) as context:

        def write(text):
            if '"email"' in text:
                seen_at.append(len(context.captured_queries))

        transfer.export_access(write, batch_size=5)
    assert len(seen_at) == User.objects.count()
    assert seen_at[0] < seen_at[-1]  # later users needed queries made after the first write


# --- Round trip and idempotence ------------------------------------------------------


def test_export_import_export_is_byte_identical_into_an_empty_database(
    manage, configuration, tmp_path
):
    first = exported(manage)
    User.objects.all().delete()
    Group.objects.all().delete()
    Reseller.objects.all().delete()
    result = manage("import_access", write_file(tmp_path, first))
    assert result.status == 0, result.err
    assert result.out.splitlines() == [
        "resellers: 2 created, 0 updated, 0 unchanged",
        "groups: 2 created, 0 updated, 0 unchanged",
        "users: 4 created, 0 updated, 0 unchanged",
    ]
    assert exported(manage) == first
    ana = User.objects.get(email="ana@example.com")
    assert effective_permissions(ana).actions("customer") == ["read"]
    assert effective_permissions(ana).actions("cdr") == ["read"]
    assert effective_permissions(ana).actions("billing") == ["read", "update"]
    assert not effective_permissions(ana).can("audit-log", "read")


def test_a_round_trip_across_several_batches_keeps_every_users_groups_and_rules(
    manage, configuration
):
    for number in range(7):
        user = UserFactory(
            email=f"batch{number}@example.com",
            groups=[configuration["readers"]] if number % 2 else [configuration["billing"]],
            ip_whitelist=whitelist(f"10.{number}.0."),
        )
        RuleFactory(user=user, area="card", actions=mask_of([CRUD[number % 4]]))
    first = exported(manage)
    User.objects.all().delete()
    outcome = transfer.import_access(first, batch_size=3)
    assert outcome.counts["users"]["created"] == 11
    assert exported(manage) == first
    odd = User.objects.get(email="batch3@example.com")
    assert effective_permissions(odd).actions("carrier") == ["read"]
    assert effective_permissions(odd).actions("card") == ["read", "delete"]  # group + own


def test_importing_the_same_file_twice_reports_no_changes_the_second_time(
    manage, configuration, tmp_path
):
    path = write_file(tmp_path, CONTRACT_EXAMPLE)
    assert manage("import_access", path).status == 0
    before = database_rows()
    second = manage("import_access", path)
    assert second.status == 0
    assert second.out.splitlines() == [
        "resellers: 0 created, 0 updated, 1 unchanged",
        "groups: 0 created, 0 updated, 1 unchanged",
        "users: 0 created, 0 updated, 1 unchanged",
    ]
    after = database_rows()
    assert len(after["audit"]) == len(before["audit"]) + 1  # the run itself is audited
    after["audit"] = before["audit"]
    assert after == before  # no version bumped, no timestamp touched


# --- What an import does -------------------------------------------------------------


def test_the_contracts_example_imports_as_written(manage, tmp_path):
    result = manage("import_access", write_file(tmp_path, CONTRACT_EXAMPLE))
    assert result.status == 0, result.err
    ana = User.objects.get(email="ana@example.com")
    assert (ana.name, ana.role, ana.timezone, ana.reseller) == (
        "Ana",
        "user",
        "Europe/London",
        None,
    )
    assert [item["network"] for item in ana.ip_whitelist] == [
        "1.1.1.1/32",
        "10.0.0.0/24",
        "192.168.0.0/24",
    ]
    access = effective_permissions(ana)
    assert access.actions("billing") == ["read", "update"]
    assert access.actions("customer") == ["read"]
    assert access.actions("cdr") == ["read"]
    assert access.actions("carrier") == []
    assert Reseller.objects.filter(name="Acme Telecom").exists()


def test_the_documented_example_is_exactly_what_export_writes(manage, tmp_path):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "commands.md").read_text()
    example = docs.split("## The JSON format", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    assert manage("import_access", write_file(tmp_path, example)).status == 0
    assert exported(manage) == example
    assert json.loads(example) == json.loads(CONTRACT_EXAMPLE)


def test_verbose_import_lists_each_change(manage, tmp_path):
    result = manage("import_access", write_file(tmp_path, CONTRACT_EXAMPLE), verbosity=2)
    assert result.out.splitlines()[:3] == [
        "create reseller 'Acme Telecom'",
        "create group 'Billing'",
        "create user ana@example.com",
    ]


def test_users_created_by_import_have_no_usable_password(manage, tmp_path):
    manage("import_access", write_file(tmp_path, CONTRACT_EXAMPLE))
    assert not User.objects.get(email="ana@example.com").has_usable_password()


def test_omitted_fields_take_their_defaults(manage, tmp_path):
    data = {"groups": [{"name": "Plain"}], "users": [{"email": "new@example.com"}]}
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    group = Group.objects.get(name="Plain")
    assert (group.default_actions, group.rules.count()) == (CRUD, 0)
    user = User.objects.get(email="new@example.com")
    assert user.role == Role.ADMINISTRATOR  # as the panel does
    assert (user.name, user.timezone, user.ip_whitelist, user.is_active) == ("", "UTC", [], True)
    assert (user.shared_ticket, user.reseller, user.access_groups.count()) == (False, None, 0)


def test_each_object_is_set_to_exactly_what_the_file_says(manage, configuration, tmp_path):
    ana = configuration["ana"]
    data = {
        "groups": [{"name": "Billing", "defaults": ["read"]}],
        "users": [{"email": "ana@example.com", "role": "user", "groups": ["Billing"]}],
    }
    result = manage("import_access", write_file(tmp_path, data))
    assert result.out.splitlines()[1:] == [
        "groups: 0 created, 1 updated, 0 unchanged",
        "users: 0 created, 1 updated, 0 unchanged",
    ]
    billing = Group.objects.get(name="Billing")
    assert (billing.default_actions, billing.rules.count()) == (["read"], 0)
    ana = fresh(ana)
    assert ana.name == ""
    assert (ana.timezone, ana.ip_whitelist, ana.shared_ticket) == ("UTC", [], False)
    assert [g.name for g in ana.access_groups.all()] == ["Billing"]
    assert not ana.access_rules.exists()
    # the Billing group is now in defaults mode: read everywhere, nothing else
    assert effective_permissions(ana).actions("carrier") == ["read"]


def test_objects_not_in_the_file_are_left_alone(manage, configuration, tmp_path):
    rows = database_rows()
    data = {"groups": [{"name": "Newcomers", "defaults": ["read"]}]}
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    after = database_rows()
    assert [g["name"] for g in after["groups"]] == ["Billing", "Readers", "Newcomers"]
    after["groups"] = after["groups"][:2]
    after["audit"] = rows["audit"]
    assert after == rows


def test_users_groups_and_resellers_are_matched_case_insensitively(manage, configuration, tmp_path):
    ana = configuration["ana"]
    data = {
        "resellers": [{"name": "ACME TELECOM"}],
        "groups": [{"name": "readers", "defaults": ["read"]}],
        "users": [{"email": "Ana@Example.COM", "role": "user", "groups": ["READERS"]}],
    }
    result = manage("import_access", write_file(tmp_path, data))
    assert result.status == 0, result.err
    assert Reseller.objects.count() == 2
    assert Reseller.objects.filter(name="ACME TELECOM").exists()  # renamed, same row
    assert list(Group.objects.values_list("name", flat=True)) == ["Billing", "readers"]
    assert User.objects.filter(email__iexact="ana@example.com").get().pk == ana.pk
    assert fresh(ana).email == "ana@example.com"
    assert [g.name for g in fresh(ana).access_groups.all()] == ["readers"]


def test_a_user_may_name_a_group_or_reseller_that_is_only_in_the_database(
    manage, configuration, tmp_path
):
    data = {
        "users": [
            {
                "email": "new@example.com",
                "role": "user",
                "groups": ["Billing"],
                "reseller": "Beta Voice",
            }
        ]
    }
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    user = User.objects.get(email="new@example.com")
    assert user.reseller.name == "Beta Voice"
    assert effective_permissions(user).actions("billing") == ["read", "update"]


def test_import_refreshes_the_permissions_of_every_affected_user(manage, configuration, tmp_path):
    rita = User.objects.get(email="rita@acme.example")
    assert not effective_permissions(rita).can("carrier", "update")  # cache warm
    data = {"groups": [{"name": "Readers", "defaults": ["read", "update"]}]}
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    assert effective_permissions(fresh(rita)).can("carrier", "update")


def test_changing_role_whitelist_or_active_flag_ends_the_users_sessions(
    manage, configuration, tmp_path
):
    ana = configuration["ana"]
    data = json.loads(exported(manage))
    user = next(u for u in data["users"] if u["email"] == "ana@example.com")
    user["name"] = "Ana A."
    manage("import_access", write_file(tmp_path, data))
    assert fresh(ana).session_version == ana.session_version  # a new name keeps sessions
    user["ip_whitelist"] = ["2.2.2.2"]
    manage("import_access", write_file(tmp_path, data))
    assert fresh(ana).session_version == ana.session_version + 1


def test_import_records_one_audit_entry_with_the_summary(manage, tmp_path):
    manage("import_access", write_file(tmp_path, CONTRACT_EXAMPLE))
    entry = AuditEntry.objects.get(action="import")
    assert entry.actor_label == "import_access"
    assert "users: 1 created, 0 updated, 0 unchanged" in entry.message


def test_import_audits_each_user_it_promotes_with_what_changed(manage, admin, tmp_path):
    operators = [UserFactory(email=f"op{n}@example.com", name=f"Op {n}") for n in range(3)]
    data = {
        "users": [{"email": u.email, "name": u.name, "role": "administrator"} for u in operators]
    }
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    entries = AuditEntry.objects.filter(action="update", actor_label="import_access")
    assert sorted(entry.object_id for entry in entries) == sorted(str(u.pk) for u in operators)
    for entry in entries:
        assert entry.object_type == "user"
        assert entry.changes == {"role": {"before": "user", "after": "administrator"}}
        assert entry.message.startswith("Updated user op")


def test_import_audits_each_group_and_user_it_creates(manage, tmp_path):
    data = {
        "groups": [{"name": "Auditors", "defaults": ["read"]}],
        "users": [{"email": "new@example.com", "role": "user", "groups": ["Auditors"]}],
    }
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    created = AuditEntry.objects.filter(action="create", actor_label="import_access")
    by_type = {entry.object_type: entry for entry in created}
    assert set(by_type) == {"group", "user"}
    assert by_type["group"].changes["defaults"] == {"after": ["read"]}
    assert by_type["user"].changes["groups"] == {"after": ["Auditors"]}
    assert by_type["user"].changes["role"] == {"after": "user"}
    assert manage("import_access", write_file(tmp_path, data)).status == 0  # unchanged
    assert (
        AuditEntry.objects.filter(actor_label="import_access").exclude(action="import").count() == 2
    )


def test_import_reads_standard_input_when_the_file_is_a_dash(manage):
    result = manage("import_access", "-", stdin=CONTRACT_EXAMPLE)
    assert result.status == 0
    assert User.objects.filter(email="ana@example.com").exists()


# --- Dry run -------------------------------------------------------------------------


def test_dry_run_shows_what_would_change_and_writes_nothing(manage, configuration, tmp_path):
    rows = database_rows()
    data = {
        "groups": [{"name": "Readers", "defaults": ["read", "update"]}, {"name": "New"}],
        "users": [{"email": "ana@example.com", "role": "administrator"}],
    }
    result = manage("import_access", write_file(tmp_path, data), "--dry-run")
    assert result.status == 0, result.err
    assert result.out.splitlines() == [
        "update group 'Readers': defaults, rules",
        "create group 'New'",
        "update user ana@example.com: name, role, groups, timezone, ip_whitelist, "
        "shared_ticket, rules",
        "Dry run: nothing was changed. The import would give:",
        "resellers: 0 created, 0 updated, 0 unchanged",
        "groups: 1 created, 1 updated, 0 unchanged",
        "users: 0 created, 1 updated, 0 unchanged",
    ]
    assert database_rows() == rows


def test_dry_run_of_a_bad_file_reports_its_errors(manage, tmp_path):
    data = {"groups": [{"name": "X", "defaults": ["write"]}]}
    result = manage("import_access", write_file(tmp_path, data), "--dry-run")
    assert result.status == 1
    assert "groups[0].defaults[0]: unknown action 'write'" in result.err


# --- Errors: every one, with its place; nothing changes -------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"users": [{"email": "a@example.com", "ip_whitelist": ["1.1.1.1", "1.1.1"]}]},
            "users[0].ip_whitelist[1]: 1.1.1 is ambiguous: write 1.1.1. for the whole prefix",
        ),
        (
            {"users": [{"email": "a@example.com", "ip_whitelist": ["10.0.0.", "10.0.0.*"]}]},
            "users[0].ip_whitelist[1]: 10.0.0.* duplicates 10.0.0. (both mean 10.0.0.0/24)",
        ),
        (
            {"users": [{"email": "a@example.com", "ip_whitelist": [10]}]},
            "users[0].ip_whitelist[0]: expected a string, got a number (10)",
        ),
        (
            {
                "groups": [
                    {
                        "name": "G",
                        "rules": [
                            {"area": "cdr", "access": ["read"]},
                            {"area": "card", "access": ["read"]},
                            {"area": "bilings", "access": ["read"]},
                        ],
                    }
                ]
            },
            "groups[0].rules[2].area: unknown area 'bilings' (did you mean 'billing'?); "
            "see manage.py list_areas",
        ),
        (
            {"users": [{"email": "a@example.com"}, {"email": "b@example.com", "groups": ["X"]}]},
            "users[1].groups[0]: no group named 'X' in the file or the database",
        ),
        (
            {"users": [{"email": "a@example.com", "reseller": "Nobody Ltd"}]},
            "users[0].reseller: no reseller named 'Nobody Ltd' in the file or the database",
        ),
        (
            {
                "groups": [{"name": "G"}],
                "users": [{"email": "a@example.com", "groups": ["G", "g"]}],
            },
            "users[0].groups[1]: 'g' is listed twice",
        ),
        (
            {"users": [{"email": "ana@example.com"}, {"email": "ANA@example.com "}]},
            "users[1].email: 'ANA@example.com' is also users[0].email; each appears once",
        ),
        (
            {"groups": [{"name": "Billing"}, {"name": "billing"}]},
            "groups[1].name: 'billing' is also groups[0].name; each appears once",
        ),
        (
            {"resellers": [{"name": "Acme"}, {"name": "ACME"}]},
            "resellers[1].name: 'ACME' is also resellers[0].name; each appears once",
        ),
        (
            {
                "groups": [
                    {
                        "name": "G",
                        "rules": [
                            {"area": "billing", "access": ["read"], "effect": "allow"},
                            {"area": "billing", "access": ["update"]},
                        ],
                    }
                ]
            },
            "groups[0].rules[1]: a second allow rule on 'billing' (groups[0].rules[0] is the "
            "first)",
        ),
        (
            {
                "users": [
                    {
                        "email": "a@example.com",
                        "rules": [
                            {"area": "cdr", "access": ["read"], "effect": "deny"},
                            {"area": "cdr", "access": ["read"], "effect": "deny"},
                        ],
                    }
                ]
            },
            "users[0].rules[1]: a second deny rule on 'cdr'",
        ),
        (
            {"groups": [{"name": "G", "rules": [{"area": "cdr", "access": ["read", "write"]}]}]},
            "groups[0].rules[0].access[1]: unknown action 'write'; use create, read, update or "
            "delete",
        ),
        (
            {"groups": [{"name": "G", "rules": [{"area": "cdr", "access": ["read", "read"]}]}]},
            "groups[0].rules[0].access[1]: 'read' is listed twice",
        ),
        (
            {"groups": [{"name": "G", "defaults": ["reed"]}]},
            "groups[0].defaults[0]: unknown action 'reed' (did you mean 'read'?)",
        ),
        (
            {"groups": [{"name": "G", "rules": [{"area": "cdr", "access": []}]}]},
            "groups[0].rules[0].access: is empty; a rule needs at least one of create, read, "
            "update or delete",
        ),
        (
            {
                "groups": [
                    {
                        "name": "G",
                        "rules": [{"area": "cdr", "access": ["read"], "effect": "permit"}],
                    }
                ]
            },
            'groups[0].rules[0].effect: expected "allow" or "deny", got a string ("permit")',
        ),
        (
            {"users": [{"email": "a@example.com", "timezone": "Mars/Olympus"}]},
            "users[0].timezone: Mars/Olympus is not a known time zone",
        ),
        (
            {"users": [{"email": "not-an-address"}]},
            "users[0].email: 'not-an-address' is not a valid e-mail address",
        ),
        (
            {"users": [{"email": "a@example.com", "role": "superuser"}]},
            'users[0].role: expected "administrator" or "user", got a string ("superuser")',
        ),
        (
            {"users": [{"email": "a@example.com", "active": "yes"}]},
            'users[0].active: expected true or false, got a string ("yes")',
        ),
        (
            {"users": [{"email": "a@example.com", "shared_ticket": 1}]},
            "users[0].shared_ticket: expected true or false, got a number (1)",
        ),
        (
            {"users": [{"email": "a@example.com", "groups": "Billing"}]},
            'users[0].groups: expected a list, got a string ("Billing")',
        ),
        ({"groups": {"name": "G"}}, "groups: expected a list, got an object"),
        ({"users": ["a@example.com"]}, 'users[0]: expected an object, got a string ("a@'),
        (
            {"groups": [{"name": 7}]},
            "groups[0].name: expected a string, got a number (7)",
        ),
        ({"groups": [{"name": "  "}]}, "groups[0].name: must not be empty"),
        (
            {"groups": [{"name": "G" * 151}]},
            "groups[0].name: is 151 characters long; at most 150 are allowed",
        ),
        (
            {"groups": [{"name": "G", "default": ["read"]}]},
            "groups[0].default: unknown key 'default'; allowed keys: name, defaults, rules",
        ),
        (
            {"users": [{"email": "a@example.com", "password": "hunter2hunter2"}]},
            "users[0].password: unknown key 'password'; passwords never appear in the file; "
            "set one with manage.py set_password EMAIL",
        ),
        ({"users": [{"name": "No Address"}]}, "users[0]: missing required key 'email'"),
        (
            {"groups": [{"name": "G", "rules": [{"access": ["read"]}]}]},
            "groups[0].rules[0]: missing required key 'area'",
        ),
        ({"group": []}, "group: unknown key 'group'; allowed keys: resellers, groups, users"),
        ([], "top level: expected an object with resellers, groups and users, got a list"),
        (
            '{"groups": [{"name": "A", "name": "B"}]}',
            "groups[0]: key 'name' appears more than once",
        ),
    ],
)
def test_bad_input_is_refused_with_its_place_and_changes_nothing(
    manage, admin, tmp_path, data, expected
):
    rows = database_rows()
    result = manage("import_access", write_file(tmp_path, data))
    assert result.status == 1
    assert any(line.startswith(expected) for line in result.err.splitlines()), result.err
    assert "; nothing was changed." in result.err
    assert database_rows() == rows


def test_every_error_is_reported_at_once(manage, tmp_path):
    data = {
        "groups": [{"name": "G", "defaults": ["write"]}],
        "users": [
            {"email": "a@example.com", "timezone": "Nowhere"},
            {"email": "b@example.com", "ip_whitelist": ["1.1.1"], "groups": ["Nope"]},
        ],
    }
    result = manage("import_access", write_file(tmp_path, data))
    lines = result.err.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "groups[0].defaults[0]",
        "users[0].timezone",
        "users[1].groups[0]",
        "users[1].ip_whitelist[0]",
    ]
    assert lines[-1] == "CommandError: 4 errors; nothing was changed."


def test_malformed_json_is_reported_with_line_and_column(manage, tmp_path):
    text = '{\n  "groups": [\n    {"name": "G",}\n  ]\n}\n'
    result = manage("import_access", write_file(tmp_path, text))
    assert result.status == 1
    assert result.err.splitlines()[0].startswith("line 3, column 18: not valid JSON")
    assert result.err.splitlines()[-1] == "CommandError: 1 error; nothing was changed."


def test_a_partly_valid_file_changes_nothing(manage, configuration, tmp_path):
    rows = database_rows()
    data = {
        "resellers": [{"name": "Gamma Networks"}],
        "groups": [{"name": "Fresh", "defaults": ["read"]}, {"name": "Billing"}],
        "users": [
            {"email": "new@example.com", "role": "user", "groups": ["Fresh"]},
            {"email": "ana@example.com", "role": "user", "timezone": "Atlantis/Capital"},
        ],
    }
    result = manage("import_access", write_file(tmp_path, data))
    assert result.status == 1
    assert result.err.splitlines()[0].startswith("users[1].timezone:")
    assert database_rows() == rows


def test_a_failure_while_writing_rolls_back_what_was_already_written(configuration, monkeypatch):
    rows = database_rows()
    seen_before_failure = {}

    def failing_create(items, groups, resellers, batch_size):
        seen_before_failure["readers"] = Group.objects.get(name="Readers").default_actions
        seen_before_failure["ana"] = User.objects.get(email="ana@example.com").role
        raise IntegrityError("simulated failure while creating users")

    monkeypatch.setattr(transfer, "_create_users", failing_create)
    text = json.dumps(
        {
            "groups": [{"name": "Readers", "defaults": CRUD}],
            "users": [{"email": "ana@example.com"}, {"email": "new@example.com"}],
        }
    )
    with pytest.raises(IntegrityError):
        transfer.import_access(text)
    # the group and Ana had been changed when the failure came...
    assert seen_before_failure == {"readers": CRUD, "ana": Role.ADMINISTRATOR}
    # ...and the whole import was rolled back
    assert database_rows() == rows


def test_an_unreadable_file_fails_with_status_2(manage, tmp_path):
    missing = manage("import_access", str(tmp_path / "nope.json"))
    assert missing.status == 2
    assert "cannot read" in missing.err
    binary = tmp_path / "latin1.json"
    binary.write_bytes('{"groups": [{"name": "Caf\u00e9"}]}'.encode("latin-1"))
    assert manage("import_access", str(binary)).status == 2


# --- The last administrator ------------------------------------------------------------


def test_import_cannot_demote_the_last_active_administrator(manage, admin, tmp_path):
    data = {"users": [{"email": "ada@example.com", "role": "user"}]}
    result = manage("import_access", write_file(tmp_path, data))
    assert result.status == 1
    assert result.err.startswith(
        "users[0].role: this would leave the panel with no active administrator"
    )
    assert fresh(admin).role == Role.ADMINISTRATOR


def test_import_cannot_deactivate_the_last_active_administrator(manage, admin, tmp_path):
    data = {"users": [{"email": "ada@example.com", "active": False}]}
    result = manage("import_access", write_file(tmp_path, data))
    assert result.status == 1
    assert result.err.startswith("users[0].active: this would leave the panel")
    assert fresh(admin).is_active


def test_an_administrator_may_be_demoted_when_another_stays(manage, admin, tmp_path):
    AdminFactory(email="second@example.com")
    data = {"users": [{"email": "ada@example.com", "role": "user"}]}
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    assert fresh(admin).role == Role.USER


def test_the_file_may_hand_over_to_a_new_administrator(manage, admin, tmp_path):
    data = {
        "users": [
            {"email": "ada@example.com", "role": "user"},
            {"email": "new-admin@example.com", "role": "administrator"},
        ]
    }
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    assert User.objects.get(email="new-admin@example.com").is_administrator
