"""Checking a file's values as they stream past, with the cleaning the pages use: the
users page's form fields (``accounts.forms.UserForm``: e-mail with ``canonical_email``,
name, role, time zone), ``parse_whitelist`` as the whitelist box does, the group and
reseller forms' name fields, and the area and action registries the rule forms offer.
Every error names its place in the file (``users[3].ip_whitelist[1]: ...``)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.forms import Field

from accounts.identity import canonical_email, identity_key
from accounts.ipwhitelist import parse_whitelist
from accounts.models import Role
from controlpanel.kit.areas import ACTION_BITS, ACTIONS, ALL_ACTIONS_MASK, area_keys, is_area
from controlpanel.kit.bulk import insert_rows
from permissions.user_forms import UserForm
from resellers.models import Reseller

from ..forms import GroupForm
from ..models import Effect

DEFAULT_ROLE = Role.ADMINISTRATOR.value  # as the panel does (ACCESS_MODEL.md)
# Looked up once: a Choices class builds ``.values`` anew on every access.
_ROLES = frozenset(Role.values)
_EFFECTS = frozenset(Effect.values)
DEFAULT_EFFECT = Effect.ALLOW.value
TOP_LEVEL = "top level"
TOP_KEYS = ("resellers", "groups", "users")
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
# The order of the file's sections and of their errors (see ``Validator.error``).
_TOP, _RESELLERS, _GROUPS, _USERS, _LAST = range(5)
_SECTION = {"resellers": _RESELLERS, "groups": _GROUPS, "users": _USERS}
_INVALID = object()


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
    """A valid file: its resellers and groups, and how many users it holds (users are
    read again, a batch at a time, when they are written)."""

    resellers: tuple[ResellerSpec, ...]
    groups: tuple[GroupSpec, ...]
    user_count: int
    file_groups: frozenset[str] = frozenset()
    file_resellers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DatabaseFacts:
    """What validation needs to know about the database; names and e-mails lower-cased."""

    group_names: frozenset[str] = frozenset()
    reseller_names: frozenset[str] = frozenset()
    active_administrators: int = 0  # how many; their addresses stay in the database


def describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"a number ({value:g})" if isinstance(value, float) else f"a number ({value})"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return f"a string ({shown[:56] + '...' + chr(34) if len(shown) > 60 else shown})"
    return "a list" if isinstance(value, list) else "an object"


def _suggestion(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_area_message(area: str) -> str:
    return f"unknown area '{area}'{_suggestion(area, area_keys())}; see manage.py list_areas"


def unknown_action_message(action: str) -> str:
    return f"unknown action '{action}'{_suggestion(action, ACTIONS)}; use {ACTION_CHOICES}"


def _field_message(field: str, error: ValidationError, value: str) -> str:
    """A form field's error as the file's errors read (same check, the file's words)."""
    detail = error.error_list[0]
    if detail.code == "required":
        return "must not be empty"
    if detail.code == "max_length":
        limit = detail.params["limit_value"]
        return f"is {len(value)} characters long; at most {limit} are allowed"
    if field == "email" and detail.code == "invalid":
        return f"'{value}' is not a valid e-mail address"
    return error.messages[0]


def _blank_or_wrong(value) -> str:
    return (
        "must not be empty"
        if isinstance(value, str)
        else f"expected a string, got {describe(value)}"
    )


class SeenEmails:
    """The users' e-mail addresses seen so far, by identity, to find one that repeats:
    kept in a temporary table of the database rather than in memory, which would grow
    with the number of users (a million addresses took more memory than the rest of
    the import). Rows go in a few thousand at a time (``COPY`` on PostgreSQL) and one
    grouping query at the end finds the repeats, wherever they are in the file. Use as
    a context manager, inside which the table lives (a savepoint around it: it is
    gone as well when reading fails)."""

    TABLE = "import_access_seen_emails"
    FLUSH = 5000

    def __init__(self):
        self._rows: list[tuple[str, int, str]] = []
        self._atomic = None

    def __enter__(self) -> SeenEmails:
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.TABLE} "
                "(identity text NOT NULL, place integer NOT NULL, shown text NOT NULL,"
                " email text NULL, role text NULL)"
            )
        return self

    def __exit__(self, kind, error, trace):
        try:
            if kind is None:
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE {self.TABLE}")
        finally:
            self._atomic.__exit__(kind, error, trace)  # on an error, rolls the table back

    def add(self, identity: str, index: int, shown: str, spec: UserSpec | None) -> None:
        """``spec``: the user when valid (its stored address and role), else None."""
        email, role = (spec.email, spec.role) if spec is not None else (None, None)
        self._rows.append((identity, index, shown, email, role))
        if len(self._rows) >= self.FLUSH:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            insert_rows(self.TABLE, ("identity", "place", "shown", "email", "role"), self._rows)
            self._rows = []

    def repeats(self) -> list[tuple[int, str, int]]:
        """(index, address as written, index of its first appearance) of every user
        whose address an earlier user of the file already has, in the file's order."""
        self._flush()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT seen.place, seen.shown, firsts.first FROM import_access_seen_emails seen "
                "JOIN (SELECT identity, MIN(place) AS first FROM import_access_seen_emails "
                "GROUP BY identity HAVING COUNT(*) > 1) firsts "
                "ON firsts.identity = seen.identity "
                "WHERE seen.place > firsts.first ORDER BY seen.place"
            )
            return cursor.fetchall()

    def administrators(self) -> list[tuple[str, str, int]]:
        """The file's valid users who are active administrators now, as (stored address,
        role in the file, index), in the file's order; empty when some active
        administrator is not among them (that one stays). Asked only of a file with no
        active administrator of its own, so it costs nothing in the usual case."""
        self._flush()
        User = get_user_model()
        users = connection.ops.quote_name(User._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {self.TABLE}_email ON {self.TABLE} (email)")
            cursor.execute(
                f"SELECT 1 FROM {users} u WHERE u.role = %s AND u.is_active AND NOT EXISTS "  # noqa: S608 (quoted name)
                f"(SELECT 1 FROM {self.TABLE} seen WHERE seen.email = u.email)",
                [Role.ADMINISTRATOR.value],
            )
            if cursor.fetchone() is not None:
                return []
            cursor.execute(
                f"SELECT seen.email, seen.role, seen.place FROM {self.TABLE} seen "  # noqa: S608 (quoted name)
                f"JOIN {users} u ON u.email = seen.email "
                "WHERE u.role = %s AND u.is_active ORDER BY seen.place",
                [Role.ADMINISTRATOR.value],
            )
            return cursor.fetchall()


class Validator:
    """Collects errors with a sort key — (section, 0 for a repeated name or 1 for the
    item's own errors, item index, order found) — so they come out in the file's order of
    sections and items whatever the order of its keys: a user naming a group that the
    file lists further down is checked once the groups have been read."""

    def __init__(self, facts: DatabaseFacts, *, file_groups=None, file_resellers=None):
        self.facts = facts
        fields = UserForm.base_fields
        self.fields: dict[str, Field] = {
            "email": fields["email"],
            "name": fields["name"],
            "timezone": fields["timezone"],
            "role": fields["role"],
            "group": GroupForm.base_fields["name"],
            "reseller": Reseller._meta.get_field("name").formfield(),
        }
        self._timezones: set[str] = set()  # found valid already
        self._errors: list[tuple[tuple, str]] = []
        self._where: tuple = (_TOP, 0, 0)
        self._seq = 0
        self.file_groups: set[str] = set(file_groups or ())
        self.file_resellers: set[str] = set(file_resellers or ())
        self._read = {"groups": file_groups is not None, "resellers": file_resellers is not None}
        self._waiting: list[tuple[str, tuple, str, str]] = []  # kind, key, place, name
        self.reseller_specs: list[ResellerSpec] = []
        self.group_specs: list[GroupSpec] = []
        self.start_users()

    # -- errors -------------------------------------------------------------------------

    def _key(self) -> tuple:
        self._seq += 1
        return (*self._where, self._seq)

    def error(self, place: str, message: str) -> None:
        self._errors.append((self._key(), f"{place}: {message}"))

    @property
    def errors(self) -> list[str]:
        return [text for _key, text in sorted(self._errors, key=lambda e: e[0])]

    # -- the document -------------------------------------------------------------------

    def read(self, members, tick=lambda: None) -> None:
        """Check the whole file; ``members`` as ``reading.members`` gives them."""
        seen: list[str] = []
        for key, value in members:
            self._where = (_TOP, 0, 0)
            if key is None:
                self.error(
                    TOP_LEVEL,
                    f"expected an object with resellers, groups and users, got {describe(value)}",
                )
                return
            if key in seen:
                if seen.count(key) == 1:
                    self.error(TOP_LEVEL, f"key '{key}' appears more than once")
                self._forget(key)  # as json.loads does, the last of a repeated key counts
            elif key not in TOP_KEYS:
                self._where = (_TOP, 1, 0)
                self.error(key, f"unknown key '{key}'; allowed keys: {', '.join(TOP_KEYS)}")
            seen.append(key)
            if key in TOP_KEYS:
                getattr(self, key)(value, tick)
            tick()
        self._read = {"groups": True, "resellers": True}
        self._settle_waiting()
        self._where = (_LAST, 0, 0)
        self.keeps_an_administrator()

    def _forget(self, key: str) -> None:
        if (section := _SECTION.get(key)) is None:
            return
        self._errors = [e for e in self._errors if e[0][0] != section]
        self._waiting = [w for w in self._waiting if w[1][0] != section]
        if key == "resellers":
            self.file_resellers, self.reseller_specs = set(), []
        elif key == "groups":
            self.file_groups, self.group_specs = set(), []
        else:
            self.start_users()

    # -- shapes -------------------------------------------------------------------------

    def object(self, value, place, allowed, required=(), hints=None) -> dict | None:
        if not isinstance(value, dict):
            self.error(place, f"expected an object, got {describe(value)}")
            return None
        for key in getattr(value, "repeated", ()):
            self.error(place, f"key '{key}' appears more than once")
        for key in value:
            if key not in allowed:
                hint = (hints or {}).get(key) or f"allowed keys: {', '.join(allowed)}"
                self.error(f"{place}.{key}", f"unknown key '{key}'; {hint}")
        for key in required:
            if key not in value:
                self.error(place, f"missing required key '{key}'")
        return value

    def list(self, value, place) -> list | None:
        if isinstance(value, list):
            return value
        self.error(place, f"expected a list, got {describe(value)}")
        return None

    def clean(self, field: str, value, place):
        """``value`` through the pages' form field; _INVALID (reported) when refused."""
        if not isinstance(value, str):
            self.error(place, f"expected a string, got {describe(value)}")
            return _INVALID
        if field == "timezone" and value in self._timezones:
            return value  # a few zones, a hundred thousand users: each checked once
        try:
            cleaned = self.fields[field].clean(value)
        except ValidationError as error:
            self.error(place, _field_message(field, error, value.strip()))
            return _INVALID
        if field == "timezone" and cleaned == value:
            self._timezones.add(value)
        return cleaned

    def boolean(self, value, place):
        if isinstance(value, bool):
            return value
        self.error(place, f"expected true or false, got {describe(value)}")
        return _INVALID

    def actions(self, value, place, *, allow_empty: bool):
        if (items := self.list(value, place)) is None:
            return _INVALID
        if not items and not allow_empty:
            self.error(place, f"is empty; a rule needs at least one of {ACTION_CHOICES}")
            return _INVALID
        mask, valid, seen = 0, True, set()
        for index, action in enumerate(items):
            here = f"{place}[{index}]"
            if not isinstance(action, str):
                self.error(here, f"expected an action name, got {describe(action)}")
            elif action not in ACTION_BITS:
                self.error(here, unknown_action_message(action))
            elif action in seen:
                self.error(here, f"'{action}' is listed twice")
            else:
                seen.add(action)
                mask |= ACTION_BITS[action]
                continue
            valid = False
        return mask if valid else _INVALID

    def rules(self, value, place):
        if (items := self.list(value, place)) is None:
            return _INVALID
        specs, valid, first = set(), True, {}
        for index, item in enumerate(items):
            here = f"{place}[{index}]"
            if (rule := self.object(item, here, RULE_KEYS, required=("area", "access"))) is None:
                valid = False
                continue
            area = self.clean_area(rule["area"], f"{here}.area") if "area" in rule else _INVALID
            mask = _INVALID
            if "access" in rule:
                mask = self.actions(rule["access"], f"{here}.access", allow_empty=False)
            effect = rule.get("effect", DEFAULT_EFFECT)
            if effect not in _EFFECTS:
                self.error(f"{here}.effect", f'expected "allow" or "deny", got {describe(effect)}')
                effect = _INVALID
            if area is not _INVALID and effect is not _INVALID:
                if (area, effect) in first:
                    self.error(
                        here,
                        f"a second {effect} rule on '{area}' ({first[area, effect]} is the "
                        f"first); an owner has one {effect} rule per area, so list all its "
                        "actions in that one rule",
                    )
                    area = _INVALID
                else:
                    first[area, effect] = here
            if _INVALID in (area, mask, effect):
                valid = False
                continue
            specs.add(RuleSpec(area, mask, effect))
        return frozenset(specs) if valid else _INVALID

    def clean_area(self, value, place):
        if not isinstance(value, str) or not value.strip():
            self.error(place, _blank_or_wrong(value))
            return _INVALID
        if not is_area(area := value.strip()):
            self.error(place, unknown_area_message(area))
            return _INVALID
        return area

    def _once(self, item, index: int, kind: str, first: dict[str, str]) -> str | None:
        """The item's folded name when it is a usable string, reporting a repeat
        (case-insensitively) at the later place; for the few resellers and groups."""
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return None
        if not (folded := item["name"].strip().lower()):
            return None
        if folded in first:
            self.error(
                f"{kind}[{index}].name",
                f"'{item['name'].strip()}' is also {first[folded]}; each appears once",
            )
            return None
        first[folded] = f"{kind}[{index}].name"
        return folded

    # -- sections -----------------------------------------------------------------------

    def _section(self, kind: str, value):
        """The section's items as (index, item, place), after noting repeated names."""
        section = _SECTION[kind]
        if not isinstance(value, list) and not hasattr(value, "__next__"):
            self._where = (section, 1, -1)
            self.list(value, kind)
            return
        first: dict[str, str] = {}
        names = self.file_resellers if kind == "resellers" else self.file_groups
        for index, item in enumerate(value):
            self._where = (section, 0, index)
            if (folded := self._once(item, index, kind, first)) is not None:
                names.add(folded)
            self._where = (section, 1, index)
            yield index, item, f"{kind}[{index}]"
        self._read[kind] = True
        self._settle_waiting()

    def resellers(self, value, tick=None) -> None:
        for _index, item, place in self._section("resellers", value):
            data = self.object(item, place, RESELLER_KEYS, required=("name",))
            if data is not None and "name" in data:
                name = self.clean("reseller", data["name"], f"{place}.name")
                if name is not _INVALID:
                    self.reseller_specs.append(ResellerSpec(place, name))

    def groups(self, value, tick=None) -> None:
        for _index, item, place in self._section("groups", value):
            if (data := self.object(item, place, GROUP_KEYS, required=("name",))) is None:
                continue
            name = self.clean("group", data["name"], f"{place}.name") if "name" in data else None
            defaults = ALL_ACTIONS_MASK
            if "defaults" in data:
                defaults = self.actions(data["defaults"], f"{place}.defaults", allow_empty=True)
            rules = self.rules(data.get("rules", []), f"{place}.rules")
            if _INVALID not in (name, defaults, rules) and name is not None:
                self.group_specs.append(GroupSpec(place, name, defaults, rules))

    def start_users(self) -> None:
        # The file's users who are active administrators now (email -> place, role),
        # asked of the database only when no user of the file is an active administrator.
        self._administrators_in_file: dict[str, tuple[str, str]] = {}
        self._file_has_administrator = False
        self.user_count = 0

    def users(self, value, tick=lambda: None) -> None:
        if not isinstance(value, list) and not hasattr(value, "__next__"):
            self._where = (_USERS, 1, -1)
            self.list(value, "users")
            return
        with SeenEmails() as seen:
            for index, item in enumerate(value):
                # E-mails are compared by identity, like the login does (accounts.identity).
                self._where = (_USERS, 1, index)
                if (spec := self.user(item, f"users[{index}]")) is not None:
                    self._note_administrator(spec)
                email = item.get("email") if isinstance(item, dict) else None
                if isinstance(email, str) and (folded := identity_key(email)):
                    seen.add(folded, index, email.strip(), spec)
                self.user_count += 1
                tick()
            for index, shown, first in seen.repeats():
                self._where = (_USERS, 0, index)
                self.error(
                    f"users[{index}].email",
                    f"'{shown}' is also users[{first}].email; each appears once",
                )
            if self.facts.active_administrators and not self._file_has_administrator:
                for email, role, index in seen.administrators():
                    self._administrators_in_file[email] = (f"users[{index}]", role)

    def user(self, item, place) -> UserSpec | None:
        hints = {"password": CREDENTIALS_HINT}
        data = self.object(item, place, USER_KEYS, required=("email",), hints=hints)
        if data is None:
            return None
        values: dict = {"email": _INVALID}
        if "email" in data:
            values["email"] = self.email(data["email"], f"{place}.email")
        values["name"] = self.clean("name", data.get("name", ""), f"{place}.name")
        role = data.get("role", DEFAULT_ROLE)
        if not isinstance(role, str) or role not in _ROLES:
            self.error(f"{place}.role", f'expected "administrator" or "user", got {describe(role)}')
            role = _INVALID
        values["role"] = role
        values["groups"] = self.group_references(data.get("groups", []), f"{place}.groups")
        values["reseller"] = self.reseller_reference(data.get("reseller"), f"{place}.reseller")
        values["timezone"] = self.clean(
            "timezone", data.get("timezone", "UTC"), f"{place}.timezone"
        )
        values["ip_whitelist"] = self.whitelist(
            data.get("ip_whitelist", []), f"{place}.ip_whitelist"
        )
        values["shared_ticket"] = self.boolean(
            data.get("shared_ticket", False), f"{place}.shared_ticket"
        )
        values["active"] = self.boolean(data.get("active", True), f"{place}.active")
        values["rules"] = self.rules(data.get("rules", []), f"{place}.rules")
        if _INVALID in values.values():
            return None
        return UserSpec(place=place, **values)

    def email(self, value, place):
        cleaned = self.clean("email", value, place)
        if cleaned is _INVALID:
            return _INVALID
        try:
            return canonical_email(cleaned)  # the stored form; look-alikes refused by name
        except ValidationError as error:
            self.error(place, error.messages[0])
            return _INVALID

    def whitelist(self, value, place):
        """Checked by ``parse_whitelist``, as the users page's box is; its "Line N" is
        the file's ``ip_whitelist[N - 1]``."""
        if (items := self.list(value, place)) is None:
            return _INVALID
        typed = []  # (index in the file, entry)
        for index, raw in enumerate(items):
            if isinstance(raw, str):
                typed.append((index, raw))
            else:
                self.error(f"{place}[{index}]", f"expected a string, got {describe(raw)}")
        try:
            entries = parse_whitelist([raw for _index, raw in typed])
        except ValidationError as error:
            for detail in error.error_list:
                number, _colon, message = detail.message.partition(": ")
                index = typed[int(number.removeprefix("Line ")) - 1][0]
                self.error(f"{place}[{index}]", message)
            return _INVALID
        if len(typed) != len(items):
            return _INVALID
        return tuple((entry.entry, entry.network) for entry in entries)

    def _known(self, kind: str, name: str, here: str) -> bool:
        """Whether a group or reseller of that name is in the file or the database; while
        the file's own list of them is unread, the question waits (and True for now)."""
        folded = name.lower()
        in_file = self.file_groups if kind == "groups" else self.file_resellers
        in_database = self.facts.group_names if kind == "groups" else self.facts.reseller_names
        if folded in in_file or folded in in_database:
            return True
        if not self._read[kind]:
            self._waiting.append((kind, self._key(), here, name))
            return True
        self.error(here, f"no {kind[:-1]} named '{name}' in the file or the database")
        return False

    def _settle_waiting(self) -> None:
        still = []
        for kind, key, here, name in self._waiting:
            names = self.file_groups if kind == "groups" else self.file_resellers
            if not self._read[kind]:
                still.append((kind, key, here, name))
            elif name.lower() not in names:
                message = f"no {kind[:-1]} named '{name}' in the file or the database"
                self._errors.append((key, f"{here}: {message}"))
        self._waiting = still

    def group_references(self, value, place):
        if (items := self.list(value, place)) is None:
            return _INVALID
        names, valid, seen = [], True, set()
        for index, raw in enumerate(items):
            here = f"{place}[{index}]"
            if not isinstance(raw, str) or not raw.strip():
                self.error(here, _blank_or_wrong(raw))
                valid = False
                continue
            name = raw.strip()
            if name.lower() in seen:
                self.error(here, f"'{name}' is listed twice")
                valid = False
            elif not self._known("groups", name, here):
                valid = False
            seen.add(name.lower())
            names.append(name)
        return tuple(names) if valid else _INVALID

    def reseller_reference(self, value, place):
        """The reseller's name, None for no reseller, or _INVALID."""
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(place, _blank_or_wrong(value))
            return _INVALID
        name = value.strip()
        return name if self._known("resellers", name, place) else _INVALID

    def _note_administrator(self, spec: UserSpec) -> None:
        if spec.role == Role.ADMINISTRATOR and spec.active:
            self._file_has_administrator = True

    def keeps_an_administrator(self) -> None:
        if not self.facts.active_administrators:
            return  # there was none before; the import does not make it worse
        if self._file_has_administrator or not self._administrators_in_file:
            return  # one in the file, or one not in the file, stays
        for place, role in self._administrators_in_file.values():
            field_name = "role" if role != Role.ADMINISTRATOR else "active"
            self.error(f"{place}.{field_name}", NO_ADMINISTRATOR_LEFT)
