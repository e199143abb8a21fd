"""Export and import of the whole access configuration as JSON (ACCESS_MODEL.md,
"Command-line contract"; the format is documented in docs/commands.md).

Three steps, kept apart so each can be tested alone:

- ``validate(text, facts)`` is pure: it reads the JSON and checks every value, reporting
  every error with its place in the file (``users[3].ip_whitelist[1]: ...``). The few
  database facts it needs (which group and reseller names exist, who the active
  administrators are) are passed in as ``DatabaseFacts``.
- ``plan(document)`` compares the document with the database and lists what would be
  created or updated, without writing. ``--dry-run`` stops here.
- ``apply(outcome)`` writes the changes. Changed resellers, groups, rules and users are
  saved one by one, so ``permissions.signals`` bumps every affected user's access
  version; new users are inserted in bulk, a batch at a time, and their access version
  is bumped with ``touch_users`` since bulk inserts send no signals.

``import_access`` runs all three in one transaction; ``export_access`` streams the
configuration out in batches, so its memory stays flat however many users there are.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.functions import Lower

from accounts.models import Role
from accounts.timezones import timezone_names, validate_timezone
from resellers.models import Reseller

from . import audit
from .areas import ACTION_BITS, ACTIONS, ALL_ACTIONS_MASK, actions_of, area_keys, is_area
from .ipwhitelist import parse_entry, typed_entries
from .models import Effect, Group, Rule
from .signals import touch_users

KINDS = ("resellers", "groups", "users")
DEFAULT_ROLE = Role.ADMINISTRATOR.value  # as the panel does (ACCESS_MODEL.md)
DEFAULT_EFFECT = Effect.ALLOW.value
TOP_LEVEL = "top level"
TOP_KEYS = KINDS
RESELLER_KEYS = ("name",)
GROUP_KEYS = ("name", "defaults", "rules")
RULE_KEYS = ("area", "access", "effect")
USER_KEYS = (
    "email",
    "name",
    "role",
    "groups",
    "reseller",
    "timezone",
    "ip_whitelist",
    "shared_ticket",
    "active",
    "rules",
)

ACTION_CHOICES = "create, read, update or delete"
CREDENTIALS_HINT = "passwords never appear in the file; set one with manage.py set_password EMAIL"
NO_ADMINISTRATOR_LEFT = (
    "this would leave the panel with no active administrator; keep at least one user "
    'with "role": "administrator" and "active": true'
)

DEFAULT_EXPORT_BATCH = 500
DEFAULT_LOOKUP_BATCH = 500


# ---------------------------------------------------------------------------------------
# The document, once validated
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    area: str
    actions: int
    effect: str


@dataclass(frozen=True)
class ResellerSpec:
    place: str
    name: str


@dataclass(frozen=True)
class GroupSpec:
    place: str
    name: str
    defaults: int
    rules: frozenset[RuleSpec]


@dataclass(frozen=True)
class UserSpec:
    place: str
    email: str
    name: str
    role: str
    groups: tuple[str, ...]
    reseller: str | None
    timezone: str
    ip_whitelist: tuple[tuple[str, str], ...]  # (entry as typed, normalised network)
    shared_ticket: bool
    active: bool
    rules: frozenset[RuleSpec]

    @property
    def stored_whitelist(self) -> list[dict[str, str]]:
        return [{"entry": entry, "network": network} for entry, network in self.ip_whitelist]


@dataclass(frozen=True)
class Document:
    resellers: tuple[ResellerSpec, ...]
    groups: tuple[GroupSpec, ...]
    users: tuple[UserSpec, ...]


@dataclass(frozen=True)
class DatabaseFacts:
    """What validation needs to know about the database; names and e-mails lower-cased."""

    group_names: frozenset[str] = frozenset()
    reseller_names: frozenset[str] = frozenset()
    active_administrators: frozenset[str] = frozenset()


class ImportRefused(Exception):
    """The file has errors; nothing was changed. ``errors`` lists each with its place."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error{'s' if len(errors) != 1 else ''}")
        self.errors = errors


def load_facts(*, lock: bool = False) -> DatabaseFacts:
    """Read the facts validation needs. With ``lock``, the active administrators' rows
    stay locked until the transaction ends, so a concurrent change cannot remove the last
    one while the import decides (a no-op on SQLite, which serialises writes)."""
    User = get_user_model()
    administrators = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True)
    if lock:
        administrators = administrators.select_for_update()
    return DatabaseFacts(
        group_names=frozenset(n.lower() for n in Group.objects.values_list("name", flat=True)),
        reseller_names=frozenset(
            n.lower() for n in Reseller.objects.values_list("name", flat=True)
        ),
        active_administrators=frozenset(
            e.lower() for e in administrators.values_list("email", flat=True)
        ),
    )


# ---------------------------------------------------------------------------------------
# Validation (pure)
# ---------------------------------------------------------------------------------------


class _JSONObject(dict):
    """A JSON object that remembers keys it saw twice (plain ``json`` keeps the last)."""

    def __init__(self, pairs):
        super().__init__()
        self.repeated: list[str] = []
        for key, value in pairs:
            if key in self and key not in self.repeated:
                self.repeated.append(key)
            self[key] = value


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        if len(shown) > 60:
            shown = shown[:56] + '..."'
        return f"a string ({shown})"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _suggestion(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_area_message(area: str) -> str:
    return f"unknown area '{area}'{_suggestion(area, area_keys())}; see manage.py list_areas"


def unknown_action_message(action: str) -> str:
    return f"unknown action '{action}'{_suggestion(action, ACTIONS)}; use {ACTION_CHOICES}"


_MISSING = object()


def _limit(model, field_name: str) -> int:
    """A field's max_length, checked here so a too-long value is reported with its place."""
    return model._meta.get_field(field_name).max_length


class _Validator:
    def __init__(self, facts: DatabaseFacts):
        self.facts = facts
        # Looked up once: a file may hold a hundred thousand users.
        self.user_model = get_user_model()
        self.limits = {
            "reseller": _limit(Reseller, "name"),
            "group": _limit(Group, "name"),
            "user": _limit(self.user_model, "name"),
            "email": _limit(self.user_model, "email"),
        }
        self.roles = frozenset(Role.values)
        self.effects = frozenset(Effect.values)
        self.timezones = frozenset(timezone_names())
        self.errors: list[str] = []
        self.file_groups: set[str] = set()
        self.file_resellers: set[str] = set()

    def error(self, place: str, message: str) -> None:
        self.errors.append(f"{place}: {message}")

    # -- shapes -------------------------------------------------------------------------

    def object(self, value, place, allowed, required=(), hints=None) -> dict | None:
        if not isinstance(value, dict):
            self.error(place, f"expected an object, got {_describe(value)}")
            return None
        for key in getattr(value, "repeated", ()):
            self.error(place, f"key '{key}' appears more than once")
        for key in value:
            if key not in allowed:
                hint = (hints or {}).get(key) or f"allowed keys: {', '.join(allowed)}"
                here = key if place == TOP_LEVEL else f"{place}.{key}"
                self.error(here, f"unknown key '{key}'; {hint}")
        for key in required:
            if key not in value:
                self.error(place, f"missing required key '{key}'")
        return value

    def list(self, value, place) -> list | None:
        if not isinstance(value, list):
            self.error(place, f"expected a list, got {_describe(value)}")
            return None
        return value

    def string(self, value, place, *, limit=None, blank=True) -> str | None:
        if not isinstance(value, str):
            self.error(place, f"expected a string, got {_describe(value)}")
            return None
        value = value.strip()
        if not value and not blank:
            self.error(place, "must not be empty")
            return None
        if limit is not None and len(value) > limit:
            self.error(place, f"is {len(value)} characters long; at most {limit} are allowed")
            return None
        return value

    def boolean(self, value, place) -> bool | None:
        if not isinstance(value, bool):
            self.error(place, f"expected true or false, got {_describe(value)}")
            return None
        return value

    def actions(self, value, place, *, allow_empty: bool) -> int | None:
        items = self.list(value, place)
        if items is None:
            return None
        if not items and not allow_empty:
            self.error(place, f"is empty; a rule needs at least one of {ACTION_CHOICES}")
            return None
        mask, valid, seen = 0, True, set()
        for index, action in enumerate(items):
            here = f"{place}[{index}]"
            if not isinstance(action, str):
                self.error(here, f"expected an action name, got {_describe(action)}")
                valid = False
            elif action not in ACTION_BITS:
                self.error(here, unknown_action_message(action))
                valid = False
            elif action in seen:
                self.error(here, f"'{action}' is listed twice")
                valid = False
            else:
                seen.add(action)
                mask |= ACTION_BITS[action]
        return mask if valid else None

    def rules(self, value, place) -> frozenset[RuleSpec] | None:
        items = self.list(value, place)
        if items is None:
            return None
        specs, valid = set(), True
        first_place: dict[tuple[str, str], str] = {}
        for index, item in enumerate(items):
            here = f"{place}[{index}]"
            rule = self.object(item, here, RULE_KEYS, required=("area", "access"))
            if rule is None:
                valid = False
                continue
            area = None
            if "area" in rule:
                area = self.string(rule["area"], f"{here}.area", blank=False)
                if area is not None and not is_area(area):
                    self.error(f"{here}.area", unknown_area_message(area))
                    area = None
            mask = None
            if "access" in rule:
                mask = self.actions(rule["access"], f"{here}.access", allow_empty=False)
            effect = rule.get("effect", DEFAULT_EFFECT)
            if not isinstance(effect, str) or effect not in self.effects:
                self.error(f"{here}.effect", f'expected "allow" or "deny", got {_describe(effect)}')
                effect = None
            if area is not None and effect is not None:
                key = (area, effect)
                if key in first_place:
                    self.error(
                        here,
                        f"a second {effect} rule on '{area}' ({first_place[key]} is the "
                        f"first); an owner has one {effect} rule per area, so list all its "
                        "actions in that one rule",
                    )
                    valid = False
                    continue
                first_place[key] = here
            if area is None or mask is None or effect is None:
                valid = False
                continue
            specs.add(RuleSpec(area, mask, effect))
        return frozenset(specs) if valid else None

    def unique_names(self, items, kind: str, key: str) -> dict[int, str]:
        """Index -> name for entries whose ``key`` is a usable string, reporting repeats
        (case-insensitively) at the later place."""
        names: dict[int, str] = {}
        first: dict[str, str] = {}
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get(key), str):
                continue
            folded = item[key].strip().lower()
            if not folded:
                continue
            if folded in first:
                self.error(
                    f"{kind}[{index}].{key}",
                    f"'{item[key].strip()}' is also {first[folded]}; each appears once",
                )
                continue
            first[folded] = f"{kind}[{index}].{key}"
            names[index] = folded
        return names

    # -- sections -----------------------------------------------------------------------

    def resellers(self, value) -> list[ResellerSpec]:
        items = self.list(value, "resellers")
        if items is None:
            return []
        self.file_resellers = set(self.unique_names(items, "resellers", "name").values())
        specs = []
        for index, item in enumerate(items):
            place = f"resellers[{index}]"
            data = self.object(item, place, RESELLER_KEYS, required=("name",))
            if data is None or "name" not in data:
                continue
            name = self.string(
                data["name"], f"{place}.name", limit=self.limits["reseller"], blank=False
            )
            if name is not None:
                specs.append(ResellerSpec(place, name))
        return specs

    def groups(self, value) -> list[GroupSpec]:
        items = self.list(value, "groups")
        if items is None:
            return []
        self.file_groups = set(self.unique_names(items, "groups", "name").values())
        specs = []
        for index, item in enumerate(items):
            place = f"groups[{index}]"
            data = self.object(item, place, GROUP_KEYS, required=("name",))
            if data is None:
                continue
            name = None
            if "name" in data:
                name = self.string(
                    data["name"], f"{place}.name", limit=self.limits["group"], blank=False
                )
            defaults = ALL_ACTIONS_MASK
            if "defaults" in data:
                defaults = self.actions(data["defaults"], f"{place}.defaults", allow_empty=True)
            rules = self.rules(data.get("rules", []), f"{place}.rules")
            if name is not None and defaults is not None and rules is not None:
                specs.append(GroupSpec(place, name, defaults, rules))
        return specs

    def users(self, value) -> list[UserSpec]:
        items = self.list(value, "users")
        if items is None:
            return []
        # E-mails are compared case-insensitively, like the login does.
        self.unique_names(items, "users", "email")
        specs = []
        for index, item in enumerate(items):
            spec = self.user(item, f"users[{index}]")
            if spec is not None:
                specs.append(spec)
        return specs

    def user(self, item, place) -> UserSpec | None:
        data = self.object(
            item, place, USER_KEYS, required=("email",), hints={"password": CREDENTIALS_HINT}
        )
        if data is None:
            return None
        fields: dict = {}
        fields["email"] = self.email(data.get("email", _MISSING), f"{place}.email")
        fields["name"] = self.string(
            data.get("name", ""), f"{place}.name", limit=self.limits["user"]
        )
        role = data.get("role", DEFAULT_ROLE)
        if not isinstance(role, str) or role not in self.roles:
            self.error(
                f"{place}.role", f'expected "administrator" or "user", got {_describe(role)}'
            )
            role = None
        fields["role"] = role
        fields["groups"] = self.group_references(data.get("groups", []), f"{place}.groups")
        fields["reseller"] = self.reseller_reference(data.get("reseller"), f"{place}.reseller")
        fields["timezone"] = self.timezone(data.get("timezone", "UTC"), f"{place}.timezone")
        fields["ip_whitelist"] = self.whitelist(
            data.get("ip_whitelist", []), f"{place}.ip_whitelist"
        )
        fields["shared_ticket"] = self.boolean(
            data.get("shared_ticket", False), f"{place}.shared_ticket"
        )
        fields["active"] = self.boolean(data.get("active", True), f"{place}.active")
        fields["rules"] = self.rules(data.get("rules", []), f"{place}.rules")
        if any(value is None and key != "reseller" for key, value in fields.items()):
            return None
        if fields["reseller"] is _MISSING:
            return None
        return UserSpec(place=place, **fields)

    def email(self, value, place) -> str | None:
        if value is _MISSING:
            return None  # reported as a missing key
        text = self.string(value, place, limit=self.limits["email"], blank=False)
        if text is None:
            return None
        try:
            validate_email(text)
        except ValidationError:
            self.error(place, f"'{text}' is not a valid e-mail address")
            return None
        return self.user_model.objects.normalize_email(text).lower()

    def timezone(self, value, place) -> str | None:
        text = self.string(value, place, blank=False)
        if text is None:
            return None
        if text in self.timezones:
            return text
        try:
            validate_timezone(text)
        except ValidationError as error:
            self.error(place, error.messages[0])
            return None
        return text

    def whitelist(self, value, place) -> tuple[tuple[str, str], ...] | None:
        items = self.list(value, place)
        if items is None:
            return None
        entries, valid, seen = [], True, {}
        for index, raw in enumerate(items):
            here = f"{place}[{index}]"
            if not isinstance(raw, str):
                self.error(here, f"expected a string, got {_describe(raw)}")
                valid = False
                continue
            try:
                entry = parse_entry(raw)
            except ValidationError as error:
                self.error(here, error.messages[0])
                valid = False
                continue
            if entry.network in seen:
                self.error(
                    here,
                    f"{entry.entry} duplicates {seen[entry.network]} (both mean "
                    f"{entry.network}); keep one",
                )
                valid = False
                continue
            seen[entry.network] = entry.entry
            entries.append((entry.entry, entry.network))
        return tuple(entries) if valid else None

    def group_references(self, value, place) -> tuple[str, ...] | None:
        items = self.list(value, place)
        if items is None:
            return None
        names, valid, seen = [], True, set()
        for index, raw in enumerate(items):
            here = f"{place}[{index}]"
            name = self.string(raw, here, blank=False)
            if name is None:
                valid = False
                continue
            folded = name.lower()
            if folded in seen:
                self.error(here, f"'{name}' is listed twice")
                valid = False
            elif folded not in self.file_groups and folded not in self.facts.group_names:
                self.error(here, f"no group named '{name}' in the file or the database")
                valid = False
            seen.add(folded)
            names.append(name)
        return tuple(names) if valid else None

    def reseller_reference(self, value, place):
        """The reseller's name, None for no reseller, or _MISSING when invalid."""
        if value is None:
            return None
        name = self.string(value, place, blank=False)
        if name is None:
            return _MISSING
        folded = name.lower()
        if folded not in self.file_resellers and folded not in self.facts.reseller_names:
            self.error(place, f"no reseller named '{name}' in the file or the database")
            return _MISSING
        return name

    def keeps_an_administrator(self, users: list[UserSpec]) -> None:
        current = self.facts.active_administrators
        if not current:
            return  # there was none before; the import does not make it worse
        in_file = {user.email: user for user in users}
        remaining = {email for email in current if email not in in_file}
        remaining |= {u.email for u in users if u.role == Role.ADMINISTRATOR and u.active}
        if remaining:
            return
        for user in users:
            if user.email in current:
                field_name = "role" if user.role != Role.ADMINISTRATOR else "active"
                self.error(f"{user.place}.{field_name}", NO_ADMINISTRATOR_LEFT)


def parse_json(text: str):
    """The parsed JSON, or ImportRefused naming the line and column of the mistake."""
    try:
        return json.loads(text, object_pairs_hook=_JSONObject)
    except json.JSONDecodeError as error:
        raise ImportRefused(
            [f"line {error.lineno}, column {error.colno}: not valid JSON: {error.msg}"]
        ) from None
    except RecursionError:
        raise ImportRefused(["the file nests too deeply to be an access configuration"]) from None


def validate(text: str, facts: DatabaseFacts) -> Document:
    """The document, or ImportRefused listing every error with its place in the file."""
    data = parse_json(text)
    checker = _Validator(facts)
    if not isinstance(data, dict):
        checker.error(
            TOP_LEVEL,
            f"expected an object with resellers, groups and users, got {_describe(data)}",
        )
        raise ImportRefused(checker.errors)
    checker.object(data, TOP_LEVEL, TOP_KEYS)
    resellers = checker.resellers(data.get("resellers", []))
    groups = checker.groups(data.get("groups", []))
    users = checker.users(data.get("users", []))
    checker.keeps_an_administrator(users)
    if checker.errors:
        raise ImportRefused(checker.errors)
    return Document(tuple(resellers), tuple(groups), tuple(users))


# ---------------------------------------------------------------------------------------
# Planning (reads only)
# ---------------------------------------------------------------------------------------


@dataclass
class Pending:
    """One object to create (``existing`` None) or update (``changed`` names the fields).
    ``existing`` is the reseller or group itself, or the user's primary key (users are
    compared as plain values, and loaded again only when they change)."""

    spec: ResellerSpec | GroupSpec | UserSpec
    existing: object | None
    changed: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if isinstance(self.spec, UserSpec):
            return f"user {self.spec.email}"
        kind = "reseller" if isinstance(self.spec, ResellerSpec) else "group"
        return f"{kind} '{self.spec.name}'"

    def describe(self) -> str:
        if self.existing is None:
            return f"create {self.label}"
        return f"update {self.label}: {', '.join(self.changed)}"


@dataclass
class Outcome:
    """What an import did, or would do: counts per kind, and one line per change."""

    counts: dict[str, Counter] = field(default_factory=lambda: {k: Counter() for k in KINDS})
    pending: dict[str, list[Pending]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def add(self, kind: str, item: Pending | None) -> None:
        if item is None:
            self.counts[kind]["unchanged"] += 1
            return
        self.counts[kind]["created" if item.existing is None else "updated"] += 1
        self.pending[kind].append(item)

    @property
    def changed(self) -> bool:
        return any(self.pending[kind] for kind in KINDS)

    def summary_lines(self) -> list[str]:
        return [
            f"{kind}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for kind, c in self.counts.items()
        ]

    def change_lines(self) -> list[str]:
        return [item.describe() for kind in KINDS for item in self.pending[kind]]


def _rule_specs(rules) -> frozenset[RuleSpec]:
    return frozenset(RuleSpec(r.area, r.actions, r.effect) for r in rules)


def _differences(current: dict, desired: dict) -> tuple[str, ...]:
    return tuple(key for key in desired if current[key] != desired[key])


USER_FIELDS = (
    "id",
    "email",
    "name",
    "role",
    "reseller__name",
    "timezone",
    "ip_whitelist",
    "shared_ticket",
    "is_active",
)


def _groups_and_rules_of(user_ids: list[int]):
    """Each user's group names and own rules, in two queries whatever the number of users."""
    groups_of: dict[int, list[str]] = defaultdict(list)
    memberships = Group.members.through.objects.filter(user_id__in=user_ids)
    for user_id, name in memberships.values_list("user_id", "group__name"):
        groups_of[user_id].append(name)
    rules_of: dict[int, list[RuleSpec]] = defaultdict(list)
    rules = Rule.objects.filter(user_id__in=user_ids)
    for user_id, area, actions, effect in rules.values_list("user_id", "area", "actions", "effect"):
        rules_of[user_id].append(RuleSpec(area, actions, effect))
    return groups_of, rules_of


def _user_states(emails: list[str]) -> dict[str, tuple[int, dict]]:
    """(primary key, current state) of the users with these lower-cased e-mails."""
    rows = list(
        get_user_model()
        .objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
        .values(*USER_FIELDS)
    )
    groups_of, rules_of = _groups_and_rules_of([row["id"] for row in rows])
    return {
        row["email"].lower(): (
            row["id"],
            {
                "email": row["email"],
                "name": row["name"],
                "role": row["role"],
                "groups": frozenset(name.lower() for name in groups_of[row["id"]]),
                "reseller": (row["reseller__name"] or "").lower() or None,
                "timezone": row["timezone"],
                "ip_whitelist": row["ip_whitelist"],
                "shared_ticket": row["shared_ticket"],
                "active": row["is_active"],
                "rules": frozenset(rules_of[row["id"]]),
            },
        )
        for row in rows
    }


def _user_wanted(spec: UserSpec) -> dict:
    return {
        "email": spec.email,
        "name": spec.name,
        "role": spec.role,
        "groups": frozenset(name.lower() for name in spec.groups),
        "reseller": spec.reseller.lower() if spec.reseller is not None else None,
        "timezone": spec.timezone,
        "ip_whitelist": spec.stored_whitelist,
        "shared_ticket": spec.shared_ticket,
        "active": spec.active,
        "rules": spec.rules,
    }


def _chunks(iterable: Iterable, size: int):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def plan(document: Document, *, batch_size: int = DEFAULT_LOOKUP_BATCH) -> Outcome:
    """Compare the document with the database; nothing is written."""
    outcome = Outcome()
    resellers = {r.name.lower(): r for r in Reseller.objects.all()}
    for spec in document.resellers:
        current = resellers.get(spec.name.lower())
        if current is None:
            outcome.add("resellers", Pending(spec, None))
        elif current.name != spec.name:
            outcome.add("resellers", Pending(spec, current, ("name",)))
        else:
            outcome.add("resellers", None)

    groups = {g.name.lower(): g for g in Group.objects.prefetch_related("rules")}
    for spec in document.groups:
        current = groups.get(spec.name.lower())
        if current is None:
            outcome.add("groups", Pending(spec, None))
            continue
        changed = _differences(
            {
                "name": current.name,
                "defaults": current.defaults,
                "rules": _rule_specs(current.rules.all()),
            },
            {"name": spec.name, "defaults": spec.defaults, "rules": spec.rules},
        )
        outcome.add("groups", Pending(spec, current, changed) if changed else None)

    for batch in _chunks(document.users, batch_size):
        states = _user_states([spec.email for spec in batch])
        for spec in batch:
            if spec.email not in states:
                outcome.add("users", Pending(spec, None))
                continue
            user_id, state = states[spec.email]
            changed = _differences(state, _user_wanted(spec))
            outcome.add("users", Pending(spec, user_id, changed) if changed else None)
    return outcome


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


# Foreign keys set from rows just read or written: checking that they exist would cost a
# query per object.
OWNER_FIELDS = ["group", "user"]


def _check(instance, place: str, *, exclude=None) -> None:
    """``full_clean`` without the queries: matching by e-mail or name already settles
    uniqueness, and the database's constraints still enforce it (a race ends in an
    IntegrityError, which rolls the whole import back)."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ImportRefused([f"{place}: {message}" for message in error.messages]) from None


def _clean_and_save(instance, place: str) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        raise ImportRefused([f"{place}: {message}" for message in error.messages]) from None
    instance.save()


def _sync_rules(current: list[Rule], spec, *, group=None, user=None) -> None:
    """Make the owner's rules exactly ``spec.rules``; each save or delete fires the
    signals that bump the affected users' access version."""
    by_key = {(rule.area, rule.effect): rule for rule in current}
    wanted = {(rule.area, rule.effect): rule for rule in spec.rules}
    for key, rule in by_key.items():
        if key not in wanted:
            rule.delete()
    for key, wanted_rule in sorted(wanted.items()):
        rule = by_key.get(key)
        if rule is not None and rule.actions == wanted_rule.actions:
            continue
        if rule is None:
            rule = Rule(group=group, user=user, area=wanted_rule.area, effect=wanted_rule.effect)
        rule.actions = wanted_rule.actions
        _check(rule, f"{spec.place}.rules", exclude=OWNER_FIELDS)
        rule.save()


def _write_reseller(item: Pending) -> None:
    reseller = item.existing or Reseller()
    reseller.name = item.spec.name
    _clean_and_save(reseller, item.spec.place)


def _write_group(item: Pending) -> None:
    spec: GroupSpec = item.spec
    creating = item.existing is None
    group = item.existing or Group()
    if creating or {"name", "defaults"} & set(item.changed):
        group.name, group.defaults = spec.name, spec.defaults
        _clean_and_save(group, spec.place)
    if creating or "rules" in item.changed:
        _sync_rules([] if creating else list(group.rules.all()), spec, group=group)


SESSION_ENDING_FIELDS = {"email", "role", "ip_whitelist", "active"}


def _fill_user(user, spec: UserSpec, resellers: dict[str, Reseller]) -> None:
    user.email = spec.email
    user.name = spec.name
    user.role = spec.role
    user.reseller = resellers[spec.reseller.lower()] if spec.reseller is not None else None
    user.timezone = spec.timezone
    user.ip_whitelist = spec.stored_whitelist
    user.shared_ticket = spec.shared_ticket
    user.is_active = spec.active
    _check(user, spec.place, exclude=["password", "reseller"])


def _create_users(items: list[Pending], groups, resellers, batch_size: int) -> None:
    """New users, a batch at a time in a few bulk inserts. Bulk inserts send no signals,
    so the new users' access version is bumped here, as ``permissions.signals`` would."""
    User = get_user_model()
    Membership = Group.members.through
    for batch in _chunks(items, batch_size):
        users = []
        for item in batch:
            user = User()
            user.set_unusable_password()  # passwords never come from the file
            _fill_user(user, item.spec, resellers)
            users.append(user)
        User.objects.bulk_create(users)
        memberships, rules = [], []
        for user, item in zip(users, batch, strict=True):
            memberships += [
                Membership(user_id=user.pk, group_id=groups[name.lower()].pk)
                for name in item.spec.groups
            ]
            for wanted in sorted(item.spec.rules, key=lambda r: (r.area, r.effect)):
                rule = Rule(
                    user=user, area=wanted.area, actions=wanted.actions, effect=wanted.effect
                )
                _check(rule, f"{item.spec.place}.rules", exclude=OWNER_FIELDS)
                rules.append(rule)
        Membership.objects.bulk_create(memberships)
        Rule.objects.bulk_create(rules)
        touch_users([user.pk for user in users])


def _update_user(item: Pending, groups, resellers) -> None:
    """One changed user, saved field by field so the signals keep caches honest."""
    user = get_user_model().objects.get(pk=item.existing)
    if SESSION_ENDING_FIELDS & set(item.changed):
        user.end_sessions()
    _fill_user(user, item.spec, resellers)
    user.save()
    if "groups" in item.changed:
        user.access_groups.set([groups[name.lower()] for name in item.spec.groups])
    if "rules" in item.changed:
        _sync_rules(list(user.access_rules.all()), item.spec, user=user)


def apply(outcome: Outcome, *, batch_size: int = DEFAULT_LOOKUP_BATCH) -> None:
    """Write every pending change: resellers, then groups, then users."""
    for item in outcome.pending["resellers"]:
        _write_reseller(item)
    for item in outcome.pending["groups"]:
        _write_group(item)
    if not outcome.pending["users"]:
        return
    groups = {g.name.lower(): g for g in Group.objects.all()}
    resellers = {r.name.lower(): r for r in Reseller.objects.all()}
    for item in outcome.pending["users"]:
        if item.existing is not None:
            _update_user(item, groups, resellers)
    new = [item for item in outcome.pending["users"] if item.existing is None]
    _create_users(new, groups, resellers, batch_size)


def import_access(
    text: str, *, dry_run: bool = False, batch_size: int = DEFAULT_LOOKUP_BATCH
) -> Outcome:
    """Validate, plan and (unless ``dry_run``) apply, all in one transaction: on any
    error nothing changes. Raises ImportRefused with every error and its place."""
    with transaction.atomic():
        document = validate(text, load_facts(lock=not dry_run))
        outcome = plan(document, batch_size=batch_size)
        if not dry_run:
            apply(outcome, batch_size=batch_size)
            audit.record(
                audit.Action.IMPORT,
                actor_label="import_access",
                message="; ".join(outcome.summary_lines()),
                changes={kind: dict(outcome.counts[kind]) for kind in KINDS},
            )
    return outcome


# ---------------------------------------------------------------------------------------
# Export (streaming)
# ---------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    counts: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


def _sort_key(name: str) -> tuple[str, str]:
    return (name.lower(), name)


def _rules_json(rules, owner: str, result: ExportResult) -> list[dict]:
    out = []
    for rule in sorted(rules, key=lambda r: (r.area, r.effect)):
        if not is_area(rule.area):
            result.warnings.append(
                f"{owner}: skipped the {rule.effect} rule on '{rule.area}', an area that is "
                "no longer in the registry (it grants nothing)"
            )
            continue
        out.append({"area": rule.area, "access": actions_of(rule.actions), "effect": rule.effect})
    return out


def _user_objects(rows: Iterable[dict], batch_size: int, result: ExportResult):
    """The users' JSON objects, a batch at a time: two queries per batch (memberships and
    own rules), read as plain values, whatever the batch holds."""
    for batch in _chunks(rows, batch_size):
        groups_of, rules_of = _groups_and_rules_of([row["id"] for row in batch])
        for row in batch:
            yield {
                "email": row["email"],
                "name": row["name"],
                "role": row["role"],
                "groups": sorted(groups_of[row["id"]], key=_sort_key),
                "reseller": row["reseller__name"],
                "timezone": row["timezone"],
                "ip_whitelist": typed_entries(row["ip_whitelist"]),
                "shared_ticket": row["shared_ticket"],
                "active": row["is_active"],
                "rules": _rules_json(rules_of[row["id"]], f"user {row['email']}", result),
            }


def _write_array(write, key: str, objects: Iterable[dict], *, last: bool, result) -> None:
    write(f'  "{key}": [')
    count = 0
    for obj in objects:
        write(("\n" if count == 0 else ",\n") + "    " + json.dumps(obj, ensure_ascii=False))
        count += 1
    write("\n  ]" if count else "]")
    write("\n" if last else ",\n")
    result.counts[key] = count


@contextmanager
def _snapshot():
    """One consistent view of the database for the whole export."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def export_access(
    write: Callable[[str], object], *, batch_size: int = DEFAULT_EXPORT_BATCH
) -> ExportResult:
    """Write the whole access configuration as JSON through ``write``, deterministically
    (sorted by name or e-mail, actions in CRUD order), one object a line. Users are read
    ``batch_size`` at a time with a constant number of queries per batch and written as
    they come, so memory stays flat however many users there are."""
    result = ExportResult()
    User = get_user_model()
    with _snapshot():
        write("{\n")
        resellers = sorted(Reseller.objects.values_list("name", flat=True), key=_sort_key)
        _write_array(
            write, "resellers", ({"name": n} for n in resellers), last=False, result=result
        )
        groups = sorted(Group.objects.prefetch_related("rules"), key=lambda g: _sort_key(g.name))
        _write_array(
            write,
            "groups",
            (
                {
                    "name": g.name,
                    "defaults": actions_of(g.defaults),
                    "rules": _rules_json(g.rules.all(), f"group '{g.name}'", result),
                }
                for g in groups
            ),
            last=False,
            result=result,
        )
        rows = (
            User.objects.order_by(Lower("email"), "pk")
            .values(*USER_FIELDS)
            .iterator(chunk_size=batch_size)
        )
        _write_array(
            write,
            "users",
            _user_objects(rows, batch_size, result),
            last=True,
            result=result,
        )
        write("}\n")
    return result
