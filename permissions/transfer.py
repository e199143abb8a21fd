"""Export and import of the whole access configuration as JSON (ACCESS_MODEL.md,
"Command-line contract"; the format is documented in docs/commands.md).

Both stream, so memory stays flat however many users the file holds:

- ``validate(source, facts)`` reads the JSON a chunk at a time (``_JSONStream``: the
  top-level object by hand, each element of its lists with ``json``'s own decoder) and
  checks every value, reporting every error with its place in the file
  (``users[3].ip_whitelist[1]: ...``) or, for malformed JSON, its line and column. The
  few database facts it needs (which group and reseller names exist, who the active
  administrators are) are passed in as ``DatabaseFacts``. Resellers and groups are few
  and kept; users are checked and forgotten, except for a compact record of their
  e-mail addresses (to find repeats) and of the administrators among them.
- ``import_access`` then reads the file a second time: resellers and groups are compared
  with the database and written in bulk, then users a batch at a time — one lookup of
  the batch's current state, then bulk inserts and updates of users, memberships and
  rules. Bulk writes send no signals, so the users whose effective permissions may have
  changed get their access version bumped once per batch (``touch_users``,
  ``touch_group_members``), as ``permissions.signals`` would have. ``--dry-run`` compares
  without writing. Everything happens in one transaction: a file with any error, or a
  failure while writing, changes nothing.

``export_access`` streams the configuration out in batches, so its memory stays flat too.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import re
import sys
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import BinaryIO, NoReturn

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone

from accounts.identity import canonical_email, identity_key
from accounts.ipwhitelist import parse_entry, typed_entries
from accounts.models import Role
from accounts.timezones import timezone_names, validate_timezone
from controlpanel.audit import log as audit
from controlpanel.kit.areas import (
    ACTION_BITS,
    ACTIONS,
    ALL_ACTIONS_MASK,
    actions_of,
    area_keys,
    is_area,
)
from controlpanel.kit.progress import NoProgress
from resellers.models import Reseller

from .models import Effect, Group, Rule
from .signals import touch_group_members, touch_users

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
NESTS_TOO_DEEPLY = "the file nests too deeply to be an access configuration"
FILE_CHANGED = (
    "the file changed while it was being imported; nothing was changed, run the import again"
)

DEFAULT_EXPORT_BATCH = 500
DEFAULT_LOOKUP_BATCH = 1000
CHUNK = 1 << 18  # characters (or bytes) read at a time

# The order of the file's sections and of their errors (see ``_Validator.error``).
_TOP, _RESELLERS, _GROUPS, _USERS, _LAST = range(5)
_SECTION = {"resellers": _RESELLERS, "groups": _GROUPS, "users": _USERS}


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
    active_administrators: frozenset[str] = frozenset()


class ImportRefused(Exception):
    """The file has errors; nothing was changed. ``errors`` lists each with its place."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error{'s' if len(errors) != 1 else ''}")
        self.errors = errors


class UnreadableFile(Exception):
    """The file is not UTF-8 text; the message says at which byte."""


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
# Reading the file, a chunk at a time
# ---------------------------------------------------------------------------------------


class Source:
    """The JSON to import, readable more than once (checked, then written) a chunk at a
    time: text already in memory, a file by path, or an open binary file (standard input
    copied to a temporary file). Files are decoded as UTF-8, with or without a BOM."""

    def __init__(
        self, *, text: str | None = None, path: Path | None = None, file: BinaryIO | None = None
    ):
        if (text is not None) + (path is not None) + (file is not None) != 1:
            raise ValueError("give exactly one of text, path or file")
        self.text, self.path, self.file = text, path, file
        self.digests: list[bytes] = []  # one per complete read of a file

    @classmethod
    def of(cls, value) -> Source:
        if isinstance(value, Source):
            return value
        if isinstance(value, Path):
            return cls(path=value)
        return cls(text=value)

    @property
    def size(self) -> int:
        """Characters (text) or bytes (files): what ``chunks`` counts its position in."""
        if self.text is not None:
            return len(self.text)
        if self.path is not None:
            return self.path.stat().st_size
        self.file.seek(0, 2)
        return self.file.tell()

    def chunks(self) -> Iterator[tuple[str, int]]:
        """(text, position in the source after it), to the end."""
        if self.text is not None:
            for start in range(0, len(self.text), CHUNK):
                yield self.text[start : start + CHUNK], min(start + CHUNK, len(self.text))
            return
        if self.path is not None:
            with self.path.open("rb") as handle:
                yield from self._decoded(handle)
        else:
            yield from self._decoded(self.file)

    def _decoded(self, handle: BinaryIO) -> Iterator[tuple[str, int]]:
        handle.seek(0)
        digest = hashlib.blake2b(digest_size=16)
        decoder = codecs.getincrementaldecoder("utf-8")()
        raw = handle.read(max(CHUNK, len(codecs.BOM_UTF8)))
        position = len(raw)
        digest.update(raw)
        data = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
        decoded = 0  # bytes given to the decoder so far, the BOM left out
        while True:
            final = not raw
            held = len(decoder.getstate()[0])  # an incomplete character from the last chunk
            try:
                text = decoder.decode(data, final=final)
            except UnicodeDecodeError as error:
                raise UnreadableFile(
                    f"not UTF-8 text (byte {decoded - held + error.start})"
                ) from None
            decoded += len(data)
            if text:
                yield text, position
            if final:
                self.digests.append(digest.digest())
                return
            raw = data = handle.read(CHUNK)
            position += len(raw)
            digest.update(raw)


class _JSONObject(dict):
    """A JSON object that remembers keys it saw twice (plain ``json`` keeps the last)."""

    def __init__(self, pairs):
        super().__init__()
        self.repeated: list[str] = []
        for key, value in pairs:
            if key in self and key not in self.repeated:
                self.repeated.append(key)
            self[key] = value


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder(object_pairs_hook=_JSONObject)
# Python 3.13 names a trailing comma; before, the scanner expected a value or a name there.
_TRAILING_COMMA_MESSAGES = sys.version_info >= (3, 13)


class _JSONStream:
    """The top-level object of a JSON text read a chunk at a time: its members in order,
    and the items of its resellers, groups and users lists one by one, so only one item
    (and a chunk) is in memory at a time. Each item is decoded by ``json`` itself, and
    errors name the line and column in the whole text, as ``json.loads`` would."""

    def __init__(self, source: Source):
        self._chunks = source.chunks()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.position = 0  # how far the source has been read (for a progress bar)
        # Newlines in, and characters after the last newline of, the text already dropped.
        self._lines = 0
        self._column = 0

    def _fill(self) -> bool:
        """Drop what was read, append the next chunk; False at the end of the text."""
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self.eof = True
            return False
        if self.pos:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self._lines += newlines
                self._column = len(dropped) - dropped.rfind("\n") - 1
            else:
                self._column += len(dropped)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        text, self.position = chunk
        self.buf += text
        return True

    def _peek(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the text."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def fail(self, message: str, pos: int | None = None) -> NoReturn:
        pos = self.pos if pos is None else pos
        line = self._lines + self.buf.count("\n", 0, pos) + 1
        last = self.buf.rfind("\n", 0, pos)
        column = pos - last if last >= 0 else self._column + pos + 1
        raise ImportRefused([f"line {line}, column {column}: not valid JSON: {message}"])

    def value(self):
        """The JSON value at the current position (whitespace already skipped)."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as error:
                # The value may go on in the next chunk: read on until it ends, or until
                # the mistake is well inside what was read.
                if not self.eof and (
                    error.msg.startswith("Unterminated string")
                    or len(self.buf) - error.pos < max(CHUNK, 64)
                ):
                    self._fill()
                    continue
                self.fail(error.msg, error.pos)
            except RecursionError:
                raise ImportRefused([NESTS_TOO_DEEPLY]) from None
            if end >= len(self.buf) and self._fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def _key(self) -> str:
        while True:
            try:
                key, end = json.decoder.scanstring(self.buf, self.pos + 1)
            except json.JSONDecodeError as error:
                if self._fill():
                    continue
                self.fail(error.msg, error.pos)
            self.pos = end
            return key

    def members(self) -> Iterator[tuple[str | None, object]]:
        """The top-level object's members in order, as (key, value); the value of a
        resellers, groups or users list is an iterator over its items, drained if the
        caller does not read it. A top level that is not an object is (None, value)."""
        if self._peek() != "{":
            value = self.value()  # "Expecting value" for an empty text
            self._end()
            yield None, value
            return
        self.pos += 1
        if self._peek() == "}":
            self.pos += 1
        else:
            while True:
                if self._peek() != '"':
                    self.fail("Expecting property name enclosed in double quotes")
                key = self._key()
                if self._peek() != ":":
                    self.fail("Expecting ':' delimiter")
                self.pos += 1
                if self._peek() == "[" and key in KINDS:
                    items = self._items()
                    yield key, items
                    for _ in items:
                        pass
                else:
                    yield key, self.value()
                after = self._peek()
                if after == "}":
                    self.pos += 1
                    break
                if after != ",":
                    self.fail("Expecting ',' delimiter")
                comma = self.pos
                self.pos += 1
                if _TRAILING_COMMA_MESSAGES and self._peek() == "}":
                    self.fail("Illegal trailing comma before end of object", comma)
        self._end()

    def _items(self) -> Iterator:
        self.pos += 1  # the "["
        if self._peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            after = self._peek()
            if after == "]":
                self.pos += 1
                return
            if after != ",":
                self.fail("Expecting ',' delimiter")
            comma = self.pos
            self.pos += 1
            if self._peek() == "]" and _TRAILING_COMMA_MESSAGES:
                self.fail("Illegal trailing comma before end of array", comma)

    def _end(self) -> None:
        if self._peek() != "":
            self.fail("Extra data")


class _SeenOnce:
    """Which strings were seen before, and where, in about 20 bytes a string: an
    open-addressing table of their hashes (a set of 100,000 e-mail addresses would hold
    some 15 MiB). Equal hashes only make candidates; the caller confirms them."""

    def __init__(self):
        self._hashes = array("q")
        self._indexes = array("q")
        self._table = array("q", [-1]) * 1024  # slot -> position in _hashes, or -1

    def add(self, value: str, index: int) -> list[int]:
        """Record ``value`` at ``index``; the earlier indexes of values with its hash."""
        if 2 * (len(self._hashes) + 1) > len(self._table):
            self._grow()
        key = hash(value)
        earlier = self._insert(key, len(self._hashes))
        self._hashes.append(key)
        self._indexes.append(index)
        return [self._indexes[position] for position in earlier]

    def _insert(self, key: int, position: int) -> list[int]:
        mask = len(self._table) - 1
        slot = key & mask
        earlier = []
        while (held := self._table[slot]) != -1:
            if self._hashes[held] == key:
                earlier.append(held)
            slot = (slot + 1) & mask
        self._table[slot] = position
        return earlier

    def _grow(self) -> None:
        self._table = array("q", [-1]) * (len(self._table) * 2)
        for position, key in enumerate(self._hashes):
            self._insert(key, position)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


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


def _is_list(value) -> bool:
    return isinstance(value, list | Iterator)


class _Validator:
    """Checks a file's values as they stream past. Errors are kept with a sort key —
    (section, 0 for a repeated name or 1 for the item's own errors, item index, order
    found) — so they come out in the file's order of sections and items whatever the
    order of the file's keys: a user naming a group that the file lists further down is
    checked once the groups have been read."""

    def __init__(
        self,
        facts: DatabaseFacts,
        *,
        file_groups: Iterable[str] | None = None,
        file_resellers: Iterable[str] | None = None,
    ):
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
        self._errors: list[tuple[tuple, str]] = []
        self._where: tuple = (_TOP, 0, 0)
        self._seq = 0
        # Names the file lists; while a section is unread, references to it wait.
        self.file_groups: set[str] = set(file_groups or ())
        self.file_resellers: set[str] = set(file_resellers or ())
        self._read = {"groups": file_groups is not None, "resellers": file_resellers is not None}
        self._waiting: list[tuple[str, tuple, str, str, str]] = []  # kind, key, place, ...
        self.reseller_specs: list[ResellerSpec] = []
        self.group_specs: list[GroupSpec] = []
        self.user_count = 0
        self._start_users()

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

    def read(self, stream: _JSONStream, tick: Callable[[], object] = lambda: None) -> None:
        """Check the whole file as ``stream`` reads it."""
        seen: list[str] = []
        for key, value in stream.members():
            if key is None:
                self._where = (_TOP, 0, 0)
                self.error(
                    TOP_LEVEL,
                    f"expected an object with resellers, groups and users, got {_describe(value)}",
                )
                return
            if key in seen:
                if seen.count(key) == 1:
                    self._where = (_TOP, 0, 0)
                    self.error(TOP_LEVEL, f"key '{key}' appears more than once")
                # As json.loads does, the last of a repeated key counts.
                self._forget(key)
            elif key not in TOP_KEYS:
                self._where = (_TOP, 1, 0)
                self.error(key, f"unknown key '{key}'; allowed keys: {', '.join(TOP_KEYS)}")
            seen.append(key)
            if key == "resellers":
                self.resellers(value)
            elif key == "groups":
                self.groups(value)
            elif key == "users":
                self.users(value, tick)
            tick()
        self._read = {"groups": True, "resellers": True}
        self._settle_waiting()
        self._where = (_LAST, 0, 0)
        self.keeps_an_administrator()

    def _forget(self, key: str) -> None:
        section = _SECTION.get(key)
        if section is None:
            return
        self._errors = [e for e in self._errors if e[0][0] != section]
        self._waiting = [w for w in self._waiting if w[1][0] != section]
        if key == "resellers":
            self.file_resellers, self.reseller_specs = set(), []
        elif key == "groups":
            self.file_groups, self.group_specs = set(), []
        else:
            self._start_users()

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
                self.error(f"{place}.{key}", f"unknown key '{key}'; {hint}")
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

    def _once(self, item, index: int, kind: str, key: str, first: dict[str, str]) -> str | None:
        """The item's folded name when it is a usable string, reporting a repeat
        (case-insensitively) at the later place; for the few resellers and groups."""
        if not isinstance(item, dict) or not isinstance(item.get(key), str):
            return None
        folded = item[key].strip().lower()
        if not folded:
            return None
        if folded in first:
            self.error(
                f"{kind}[{index}].{key}",
                f"'{item[key].strip()}' is also {first[folded]}; each appears once",
            )
            return None
        first[folded] = f"{kind}[{index}].{key}"
        return folded

    # -- sections -----------------------------------------------------------------------

    def resellers(self, value) -> None:
        if not _is_list(value):
            self._where = (_RESELLERS, 1, -1)
            self.list(value, "resellers")
            return
        first: dict[str, str] = {}
        for index, item in enumerate(value):
            place = f"resellers[{index}]"
            self._where = (_RESELLERS, 0, index)
            if (folded := self._once(item, index, "resellers", "name", first)) is not None:
                self.file_resellers.add(folded)
            self._where = (_RESELLERS, 1, index)
            data = self.object(item, place, RESELLER_KEYS, required=("name",))
            if data is None or "name" not in data:
                continue
            name = self.string(
                data["name"], f"{place}.name", limit=self.limits["reseller"], blank=False
            )
            if name is not None:
                self.reseller_specs.append(ResellerSpec(place, name))
        self._read["resellers"] = True
        self._settle_waiting()

    def groups(self, value) -> None:
        if not _is_list(value):
            self._where = (_GROUPS, 1, -1)
            self.list(value, "groups")
            return
        first: dict[str, str] = {}
        for index, item in enumerate(value):
            place = f"groups[{index}]"
            self._where = (_GROUPS, 0, index)
            if (folded := self._once(item, index, "groups", "name", first)) is not None:
                self.file_groups.add(folded)
            self._where = (_GROUPS, 1, index)
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
                self.group_specs.append(GroupSpec(place, name, defaults, rules))
        self._read["groups"] = True
        self._settle_waiting()

    def _start_users(self) -> None:
        self._emails = _SeenOnce()
        self._repeats: list[tuple[int, list[int], str]] = []  # (index, earlier, as typed)
        self._administrators_in_file: dict[str, tuple[str, str]] = {}  # email -> place, role
        self._file_has_administrator = False
        self.user_count = 0

    def users(self, value, tick: Callable[[], object] = lambda: None) -> None:
        if not _is_list(value):
            self._where = (_USERS, 1, -1)
            self.list(value, "users")
            return
        for index, item in enumerate(value):
            # E-mails are compared by identity, like the login does (accounts.identity).
            if isinstance(item, dict) and isinstance(item.get("email"), str):
                folded = identity_key(item["email"])
                if folded and (earlier := self._emails.add(folded, index)):
                    self._repeats.append((index, earlier, item["email"].strip()))
            self._where = (_USERS, 1, index)
            spec = self.user(item, f"users[{index}]")
            if spec is not None:
                self._note_administrator(spec)
            self.user_count += 1
            tick()

    def repeated_emails(self) -> list[tuple[int, list[int], str]]:
        """Users whose e-mail's hash was seen before: (index, earlier indexes, e-mail as
        typed). ``confirm_repeats`` turns those that really repeat into errors."""
        return self._repeats

    def confirm_repeats(self, folded_at: dict[int, str]) -> None:
        """``folded_at``: the folded e-mail at each index ``repeated_emails`` names."""
        for index, earlier, typed in self._repeats:
            first = next((i for i in earlier if folded_at[i] == folded_at[index]), None)
            if first is not None:
                self._where = (_USERS, 0, index)
                self.error(
                    f"users[{index}].email",
                    f"'{typed}' is also users[{first}].email; each appears once",
                )

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
        try:
            return canonical_email(text)  # the stored form; look-alikes refused by name
        except ValidationError as error:
            self.error(place, error.messages[0])
            return None

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

    def _known(self, kind: str, name: str, here: str) -> bool:
        """Whether a group or reseller of that name is in the file or the database; while
        the file's own list of them is unread, the question waits (and True for now)."""
        folded = name.lower()
        in_file = self.file_groups if kind == "groups" else self.file_resellers
        in_database = self.facts.group_names if kind == "groups" else self.facts.reseller_names
        if folded in in_file or folded in in_database:
            return True
        if self._read[kind]:
            return False
        self._waiting.append((kind, self._key(), here, name, folded))
        return True

    def _settle_waiting(self) -> None:
        still = []
        for kind, key, here, name, folded in self._waiting:
            if not self._read[kind]:
                still.append((kind, key, here, name, folded))
            elif folded not in (self.file_groups if kind == "groups" else self.file_resellers):
                noun = "group" if kind == "groups" else "reseller"
                message = f"no {noun} named '{name}' in the file or the database"
                self._errors.append((key, f"{here}: {message}"))
        self._waiting = still

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
            elif not self._known("groups", name, here):
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
        if not self._known("resellers", name, place):
            self.error(place, f"no reseller named '{name}' in the file or the database")
            return _MISSING
        return name

    def _note_administrator(self, spec: UserSpec) -> None:
        if spec.email in self.facts.active_administrators:
            self._administrators_in_file[spec.email] = (spec.place, spec.role)
        if spec.role == Role.ADMINISTRATOR and spec.active:
            self._file_has_administrator = True

    def keeps_an_administrator(self) -> None:
        current = self.facts.active_administrators
        if not current:
            return  # there was none before; the import does not make it worse
        if self._file_has_administrator or current - set(self._administrators_in_file):
            return
        for place, role in self._administrators_in_file.values():
            field_name = "role" if role != Role.ADMINISTRATOR else "active"
            self.error(f"{place}.{field_name}", NO_ADMINISTRATOR_LEFT)


def _folded_emails_at(source: Source, indexes: set[int]) -> dict[int, str]:
    """The folded e-mail of the users at these indexes, read from the file again."""
    found: dict[int, str] = {}
    for key, value in _JSONStream(source).members():
        if key == "users" and _is_list(value):
            found = {}  # the last users list counts, as in validation
            for index, item in enumerate(value):
                if index in indexes:
                    found[index] = identity_key(item["email"])
    return found


def _no_progress(label: str, total: int, unit: str = "") -> NoProgress:
    return NoProgress()


def validate(source, facts: DatabaseFacts, *, progress=_no_progress) -> Document:
    """The document, or ImportRefused listing every error with its place in the file.
    ``source``: the JSON text, a ``Path`` or a ``Source``; read once (twice when an
    e-mail address may repeat, to make sure)."""
    source = Source.of(source)
    checker = _Validator(facts)
    stream = _JSONStream(source)
    bar = progress("Checking", source.size, " MiB" if source.text is None else "")
    try:
        checker.read(stream, tick=lambda: bar.update(stream.position))
        bar.update(source.size)
    finally:
        bar.finish()
    if repeats := checker.repeated_emails():
        wanted = {index for index, earlier, _typed in repeats} | {
            i for _index, earlier, _typed in repeats for i in earlier
        }
        checker.confirm_repeats(_folded_emails_at(source, wanted))
    if checker.errors:
        raise ImportRefused(checker.errors)
    return Document(
        resellers=tuple(checker.reseller_specs),
        groups=tuple(checker.group_specs),
        user_count=checker.user_count,
        file_groups=frozenset(checker.file_groups),
        file_resellers=frozenset(checker.file_resellers),
    )


# ---------------------------------------------------------------------------------------
# Comparing with the database (reads only)
# ---------------------------------------------------------------------------------------


@dataclass
class Pending:
    """One object to create (``existing`` None) or update (``changed`` names the fields).
    ``existing`` is the reseller itself, the group's ``_GroupState``, or the user's
    primary key (users are compared as plain values)."""

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
    """What an import did, or would do: counts per kind and, when ``record_changes``,
    one line per change (a hundred thousand lines for a large first import)."""

    counts: dict[str, Counter] = field(default_factory=lambda: {k: Counter() for k in KINDS})
    record_changes: bool = True
    lines: list[str] = field(default_factory=list)

    def add(self, kind: str, item: Pending | None) -> None:
        if item is None:
            self.counts[kind]["unchanged"] += 1
            return
        self.counts[kind]["created" if item.existing is None else "updated"] += 1
        if self.record_changes:
            self.lines.append(item.describe())

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())

    def summary_lines(self) -> list[str]:
        return [
            f"{kind}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for kind, c in self.counts.items()
        ]

    def change_lines(self) -> list[str]:
        return list(self.lines)


@dataclass
class _GroupState:
    pk: int
    name: str
    defaults: int
    rules: dict[tuple[str, str], tuple[int, int]]  # (area, effect) -> (rule pk, actions)

    @property
    def rule_specs(self) -> frozenset[RuleSpec]:
        return frozenset(RuleSpec(a, actions, e) for (a, e), (_pk, actions) in self.rules.items())


def _group_states() -> dict[str, _GroupState]:
    """Every group by lower-cased name, with its rules, in two queries of plain values."""
    states = {
        name.lower(): _GroupState(pk, name, defaults, {})
        for pk, name, defaults in Group.objects.values_list("pk", "name", "defaults")
    }
    by_pk = {state.pk: state for state in states.values()}
    rules = Rule.objects.filter(group__isnull=False)
    for pk, group_id, area, effect, actions in rules.values_list(
        "pk", "group_id", "area", "effect", "actions"
    ):
        by_pk[group_id].rules[(area, effect)] = (pk, actions)
    return states


def _differences(current: dict, desired: dict) -> tuple[str, ...]:
    return tuple(key for key in desired if current[key] != desired[key])


def _plan_resellers(document: Document, outcome: Outcome) -> list[Pending]:
    resellers = {r.name.lower(): r for r in Reseller.objects.all()}
    pending = []
    for spec in document.resellers:
        current = resellers.get(spec.name.lower())
        if current is None:
            item = Pending(spec, None)
        elif current.name != spec.name:
            item = Pending(spec, current, ("name",))
        else:
            item = None
        outcome.add("resellers", item)
        if item is not None:
            pending.append(item)
    return pending


def _plan_groups(document: Document, outcome: Outcome) -> list[Pending]:
    states = _group_states()
    pending = []
    for spec in document.groups:
        current = states.get(spec.name.lower())
        item = None
        if current is None:
            item = Pending(spec, None)
        else:
            changed = _differences(
                {"name": current.name, "defaults": current.defaults, "rules": current.rule_specs},
                {"name": spec.name, "defaults": spec.defaults, "rules": spec.rules},
            )
            if changed:
                item = Pending(spec, current, changed)
        outcome.add("groups", item)
        if item is not None:
            pending.append(item)
    return pending


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


def _plan_users(batch: list[UserSpec], outcome: Outcome) -> list[Pending]:
    """The batch's users that are new or differ from the file: three queries."""
    states = _user_states([spec.email for spec in batch])
    pending = []
    for spec in batch:
        item = None
        if spec.email not in states:
            item = Pending(spec, None)
        else:
            user_id, state = states[spec.email]
            changed = _differences(state, _user_wanted(spec))
            if changed:
                item = Pending(spec, user_id, changed)
        outcome.add("users", item)
        if item is not None:
            pending.append(item)
    return pending


def _chunks(iterable: Iterable, size: int):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _user_specs(source: Source, document: Document, facts: DatabaseFacts):
    """The file's users as specs, read again one at a time. They were all valid a moment
    ago; one that is not now means the file changed in between."""
    checker = _Validator(
        facts, file_groups=document.file_groups, file_resellers=document.file_resellers
    )
    count = 0
    for key, value in _JSONStream(source).members():
        if key != "users":
            continue
        for index, item in enumerate(value):
            spec = checker.user(item, f"users[{index}]")
            if spec is None:
                raise ImportRefused([FILE_CHANGED])
            count += 1
            yield spec
    if count != document.user_count or len(set(source.digests)) > 1:
        raise ImportRefused([FILE_CHANGED])


# ---------------------------------------------------------------------------------------
# Writing, in bulk
# ---------------------------------------------------------------------------------------


def _clean_and_save(instance, place: str) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        raise ImportRefused([f"{place}: {message}" for message in error.messages]) from None
    instance.save()


def _write_reseller(item: Pending) -> None:
    """Resellers are few: one by one, with the model's own checks."""
    reseller = item.existing or Reseller()
    reseller.name = item.spec.name
    _clean_and_save(reseller, item.spec.place)


@dataclass
class _RuleChanges:
    """Rule rows to delete, insert and update, written in three statements at most."""

    delete: list[int] = field(default_factory=list)
    create: list[Rule] = field(default_factory=list)
    update: list[Rule] = field(default_factory=list)

    def sync(self, current: dict[tuple[str, str], tuple[int, int]], wanted, **owner) -> None:
        """Make one owner's rules (``current``: (area, effect) -> (pk, actions)) exactly
        ``wanted`` (RuleSpecs); ``owner`` is ``group_id=`` or ``user_id=``."""
        by_key = {(rule.area, rule.effect): rule for rule in wanted}
        for key, (pk, _actions) in current.items():
            if key not in by_key:
                self.delete.append(pk)
        for key, rule in sorted(by_key.items()):
            if key not in current:
                self.create.append(
                    Rule(area=rule.area, effect=rule.effect, actions=rule.actions, **owner)
                )
            elif current[key][1] != rule.actions:
                self.update.append(Rule(pk=current[key][0], actions=rule.actions))

    def write(self) -> None:
        # Bulk statements send no signals; the caller bumps the affected users once.
        # A plain DELETE, as AuditEntryQuerySet.prune does: a queryset delete would send
        # post_delete, and so an UPDATE of access versions, per rule.
        if self.delete:
            Rule.objects.filter(pk__in=self.delete)._raw_delete(Rule.objects.db)
        if self.create:
            Rule.objects.bulk_create(self.create)
        if self.update:
            Rule.objects.bulk_update(self.update, ["actions"])


def _write_groups(pending: list[Pending]) -> None:
    """New groups in one insert, changed ones in one update, their rules in bulk; then
    one bump of the access version of every member of a changed group."""
    now = django_timezone.now()
    new = [item for item in pending if item.existing is None]
    created = Group.objects.bulk_create(
        [Group(name=item.spec.name, defaults=item.spec.defaults) for item in new]
    )
    rules = _RuleChanges()
    for group, item in zip(created, new, strict=True):
        rules.sync({}, item.spec.rules, group_id=group.pk)
    changed = [item for item in pending if item.existing is not None]
    renamed = [
        Group(pk=item.existing.pk, name=item.spec.name, defaults=item.spec.defaults, updated_at=now)
        for item in changed
        if {"name", "defaults"} & set(item.changed)
    ]
    if renamed:
        Group.objects.bulk_update(renamed, ["name", "defaults", "updated_at"])
    for item in changed:
        if "rules" in item.changed:
            rules.sync(item.existing.rules, item.spec.rules, group_id=item.existing.pk)
    rules.write()
    if changed:
        touch_group_members([item.existing.pk for item in changed])


SESSION_ENDING_FIELDS = {"email", "role", "ip_whitelist", "active"}
USER_COLUMNS = {
    "email": "email",
    "name": "name",
    "role": "role",
    "reseller": "reseller_id",
    "timezone": "timezone",
    "ip_whitelist": "ip_whitelist",
    "shared_ticket": "shared_ticket",
    "active": "is_active",
}


def _user_values(spec: UserSpec, resellers: dict[str, int]) -> dict:
    return {
        "email": spec.email,
        "name": spec.name,
        "role": spec.role,
        "reseller_id": resellers[spec.reseller.lower()] if spec.reseller is not None else None,
        "timezone": spec.timezone,
        "ip_whitelist": spec.stored_whitelist,
        "shared_ticket": spec.shared_ticket,
        "is_active": spec.active,
    }


def _create_users(items: list[Pending], groups, resellers, batch_size: int) -> None:
    """New users, a batch at a time: one insert each of users, memberships and rules.
    ``groups`` and ``resellers`` map lower-cased names to primary keys. The new rows
    start at access version 1, as if ``permissions.signals`` had bumped them."""
    User = get_user_model()
    Membership = Group.members.through
    for batch in _chunks(items, batch_size):
        users = []
        for item in batch:
            user = User(access_version=1, **_user_values(item.spec, resellers))
            user.set_unusable_password()  # passwords never come from the file
            users.append(user)
        User.objects.bulk_create(users)
        memberships = []
        rules = _RuleChanges()
        for user, item in zip(users, batch, strict=True):
            memberships += [
                Membership(user_id=user.pk, group_id=groups[name.lower()])
                for name in item.spec.groups
            ]
            rules.sync({}, item.spec.rules, user_id=user.pk)
        Membership.objects.bulk_create(memberships)
        rules.write()


def _update_users(items: list[Pending], groups, resellers) -> None:
    """Changed users of one batch: one load, one update of their columns, memberships
    and rules in bulk, and one bump of their access version."""
    User = get_user_model()
    Membership = Group.members.through
    now = django_timezone.now()
    loaded = User.objects.in_bulk([item.existing for item in items])
    columns = {"updated_at"}
    for item in items:
        user = loaded[item.existing]
        for name, value in _user_values(item.spec, resellers).items():
            setattr(user, name, value)
        columns |= {USER_COLUMNS[name] for name in item.changed if name in USER_COLUMNS}
        if SESSION_ENDING_FIELDS & set(item.changed):
            user.end_sessions()
            columns.add("session_version")
        if "email" in item.changed:
            user.email_verified_at = None  # a new address is unproven (User.save)
            columns.add("email_verified_at")
        user.updated_at = now
    User.objects.bulk_update(list(loaded.values()), sorted(columns))

    regrouped = {item.existing: item.spec.groups for item in items if "groups" in item.changed}
    if regrouped:
        held: dict[int, dict[int, int]] = defaultdict(dict)  # user -> group -> row
        rows = Membership.objects.filter(user_id__in=list(regrouped))
        for pk, user_id, group_id in rows.values_list("pk", "user_id", "group_id"):
            held[user_id][group_id] = pk
        gone, added = [], []
        for user_id, names in regrouped.items():
            wanted = {groups[name.lower()] for name in names}
            gone += [pk for group_id, pk in held[user_id].items() if group_id not in wanted]
            added += [
                Membership(user_id=user_id, group_id=group_id)
                for group_id in sorted(wanted - held[user_id].keys())
            ]
        if gone:
            Membership.objects.filter(pk__in=gone).delete()
        Membership.objects.bulk_create(added)

    reruled = {item.existing: item.spec.rules for item in items if "rules" in item.changed}
    if reruled:
        current: dict[int, dict] = defaultdict(dict)
        rows = Rule.objects.filter(user_id__in=list(reruled))
        for pk, user_id, area, effect, actions in rows.values_list(
            "pk", "user_id", "area", "effect", "actions"
        ):
            current[user_id][(area, effect)] = (pk, actions)
        rules = _RuleChanges()
        for user_id, wanted in reruled.items():
            rules.sync(current[user_id], wanted, user_id=user_id)
        rules.write()
    touch_users(list(loaded))


def import_access(
    source,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_LOOKUP_BATCH,
    progress=_no_progress,
    record_changes: bool = True,
) -> Outcome:
    """Validate, compare and (unless ``dry_run``) write, all in one transaction: on any
    error nothing changes. Raises ImportRefused with every error and its place, or
    UnreadableFile. ``source``: the JSON text, a ``Path`` or a ``Source``; ``progress``:
    ``(label, total, unit) -> bar`` (see controlpanel.kit.progress)."""
    source = Source.of(source)
    outcome = Outcome(record_changes=record_changes)
    with transaction.atomic():
        facts = load_facts(lock=not dry_run)
        document = validate(source, facts, progress=progress)
        resellers = _plan_resellers(document, outcome)
        groups = _plan_groups(document, outcome)
        if not dry_run:
            for item in resellers:
                _write_reseller(item)
            _write_groups(groups)
        group_ids = {name.lower(): pk for pk, name in Group.objects.values_list("pk", "name")}
        reseller_ids = {name.lower(): pk for pk, name in Reseller.objects.values_list("pk", "name")}
        label = "Comparing users" if dry_run else "Importing users"
        bar = progress(label, document.user_count)
        try:
            for batch in _chunks(_user_specs(source, document, facts), batch_size):
                pending = _plan_users(batch, outcome)
                if not dry_run:
                    changed = [item for item in pending if item.existing is not None]
                    if changed:
                        _update_users(changed, group_ids, reseller_ids)
                    new = [item for item in pending if item.existing is None]
                    if new:
                        _create_users(new, group_ids, reseller_ids, batch_size)
                bar.advance(len(batch))
        finally:
            bar.finish()
        if not dry_run:
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


def _user_objects(rows: Iterable[dict], batch_size: int, result: ExportResult, bar):
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
        bar.advance(len(batch))


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
    write: Callable[[str], object],
    *,
    batch_size: int = DEFAULT_EXPORT_BATCH,
    progress=None,
) -> ExportResult:
    """Write the whole access configuration as JSON through ``write``, deterministically
    (sorted by name or e-mail, actions in CRUD order), one object a line. Users are read
    ``batch_size`` at a time with a constant number of queries per batch and written as
    they come, so memory stays flat however many users there are. With ``progress``
    (``(label, total) -> bar``), one more query counts the users for the bar."""
    result = ExportResult()
    User = get_user_model()
    with _snapshot():
        bar = progress("Exporting users", User.objects.count()) if progress else _no_progress("", 0)
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
        try:
            _write_array(
                write,
                "users",
                _user_objects(rows, batch_size, result, bar),
                last=True,
                result=result,
            )
        finally:
            bar.finish()
        write("}\n")
    return result
