"""Comparing the file with the database (reads only) and writing the differences in
bulk: resellers one by one, groups and a batch of users at a time — one lookup of the
batch's current state, then bulk inserts and updates of users, memberships and rules.
Changed users go through ``accounts.services.users_bulk_update`` (the side effects the
users page has: ended sessions, unproven new address, access version); the guarded
querysets of ``permissions.models`` bump the access version of members and owners on
bulk writes of memberships and rules. Every created or changed reseller, group and user
gets its own audit entry, written in bulk."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone as django_timezone

from accounts.models import unusable_password
from controlpanel.audit import log as audit
from controlpanel.kit.areas import actions_of
from controlpanel.kit.bulk import insert_new, insert_values
from permissions.user_services import users_bulk_update
from resellers.models import Reseller

from ..models import Group, Rule
from ..review_cache import forget_counts
from ..signals import touch_group_members
from .reading import KINDS, ImportRefused
from .validation import Document, GroupSpec, ResellerSpec, RuleSpec, UserSpec

ACTOR = "import_access"


def _shown(value):
    """A value of the file as an audit entry shows it (plain JSON)."""
    if isinstance(value, frozenset):
        return sorted(
            (f"{r.effect} {r.area}: {', '.join(actions_of(r.actions))}" for r in value)
            if all(isinstance(r, RuleSpec) for r in value)
            else value
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return actions_of(value)  # a group's defaults
    return value


def _user_change(name: str, before, after) -> dict:
    if name == "groups":
        return {"added": sorted(after - before), "removed": sorted(before - after)}
    if name == "ip_whitelist":
        before = [entry["entry"] for entry in before]
        after = [entry["entry"] for entry in after]
    return {"before": _shown(before), "after": _shown(after)}


# What a new user's audit entry leaves out when the file leaves it at its default: the
# entry stays short (an import may create a hundred thousand users).
_NEW_USER_DEFAULTS = {
    "name": "",
    "groups": (),
    "reseller": None,
    "timezone": "UTC",
    "ip_whitelist": (),
    "shared_ticket": False,
    "active": True,
    "rules": frozenset(),
}


def _new_user_changes(spec: UserSpec) -> dict:
    values = {
        "email": spec.email,
        "role": spec.role,
        "name": spec.name,
        "groups": spec.groups,
        "reseller": spec.reseller,
        "timezone": spec.timezone,
        "ip_whitelist": tuple(entry for entry, _network in spec.ip_whitelist),
        "shared_ticket": spec.shared_ticket,
        "active": spec.active,
        "rules": spec.rules,
    }
    return {
        name: {"after": list(value) if isinstance(value, tuple) else _shown(value)}
        for name, value in values.items()
        if name not in _NEW_USER_DEFAULTS or value != _NEW_USER_DEFAULTS[name]
    }


def _group_after(spec: GroupSpec) -> dict:
    return {
        "name": {"after": spec.name},
        "defaults": {"after": actions_of(spec.defaults)},
        "rules": {"after": _shown(spec.rules)},
    }


def _entry(action: str, obj, message: str, changes: dict):
    return audit.entry_for(
        action, actor_label=ACTOR, obj=obj, message=message, changes=changes, plain_changes=True
    )


@dataclass
class Pending:
    """One object to create (``existing`` None) or update (``changed`` names the fields).
    ``existing`` is the reseller itself, the group's ``_GroupState``, or the user's
    primary key and current values (users are compared as plain values)."""

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


def groups_and_rules_of(user_ids: list[int]):
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
    # Stored addresses are canonical (ASCII lower case, a constraint of the table), so
    # the unique index on the column finds them as they are.
    rows = list(get_user_model().objects.filter(email__in=emails).values(*USER_FIELDS))
    groups_of, rules_of = groups_and_rules_of([row["id"] for row in rows])
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
                item = Pending(spec, (user_id, state), changed)
        outcome.add("users", item)
        if item is not None:
            pending.append(item)
    return pending


def chunks(iterable: Iterable, size: int):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _clean_and_save(instance, place: str) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        raise ImportRefused([f"{place}: {message}" for message in error.messages]) from None
    instance.save()


def _write_reseller(item: Pending) -> None:
    """Resellers are few: one by one, with the model's own checks."""
    reseller = item.existing or Reseller()
    before = reseller.name
    reseller.name = item.spec.name
    _clean_and_save(reseller, item.spec.place)
    changes = {
        "name": {"before": before, "after": reseller.name}
        if item.existing
        else {"after": reseller.name}
    }
    verb = "Updated" if item.existing else "Created"
    action = audit.Action.UPDATE if item.existing else audit.Action.CREATE
    audit.record_many([_entry(action, reseller, f"{verb} reseller {reseller.name}.", changes)])


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

    def write(self, *, new_owners: bool = False) -> None:
        """``new_owners``: every owner is a user created in this very batch (see
        ``_create_users``), so there is no access version to bump."""
        # Bulk statements send no signals; the caller bumps the affected users once.
        # A plain DELETE, as AuditEntryQuerySet.prune does: a queryset delete would send
        # post_delete, and so an UPDATE of access versions, per rule.
        if self.delete:
            Rule.objects.filter(pk__in=self.delete)._raw_delete(Rule.objects.db)
        if self.create:
            (Rule._base_manager if new_owners else Rule.objects).bulk_create(self.create)
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
    entries = [
        _entry(audit.Action.CREATE, group, f"Created group {group.name}.", _group_after(item.spec))
        for group, item in zip(created, new, strict=True)
    ]
    for item in changed:
        before = {"name": item.existing.name, "defaults": item.existing.defaults}
        changes = {
            name: {
                "before": _shown(before.get(name, item.existing.rule_specs)),
                "after": _shown(getattr(item.spec, name)),
            }
            for name in item.changed
        }
        group = Group(pk=item.existing.pk, name=item.spec.name)
        entries.append(_entry(audit.Action.UPDATE, group, f"Updated group {group.name}.", changes))
    audit.record_many(entries)


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
        "reseller_id": _user_reseller(spec, resellers),
        "timezone": spec.timezone,
        "ip_whitelist": spec.stored_whitelist,
        "shared_ticket": spec.shared_ticket,
        "is_active": spec.active,
    }


def _create_users(items: list[Pending], groups, resellers, batch_size: int) -> None:
    """New users, a batch at a time: one insert each of users, memberships and rules
    (``COPY`` on PostgreSQL, with the new keys drawn from the sequence first, so no model
    instance is built per user). ``groups`` and ``resellers`` map lower-cased names to
    primary keys. The new rows start at access version 1, as if ``permissions.signals``
    had bumped them."""
    User = get_user_model()
    Membership = Group.members.through
    object_type = User._meta.model_name
    for batch in chunks(items, batch_size):
        ids = insert_new(
            User,
            [
                {
                    "access_version": 1,
                    "password": unusable_password(),  # passwords never come from the file
                    **_user_values(item.spec, resellers),
                }
                for item in batch
            ],
        )
        forget_counts()  # new users change the access review's totals; COPY sends no signal
        memberships, rules = [], []
        for user_id, item in zip(ids, batch, strict=True):
            memberships += [(user_id, groups[name.lower()]) for name in item.spec.groups]
            rules += [
                (user_id, rule.area, rule.effect, rule.actions)
                for rule in sorted(item.spec.rules, key=lambda r: (r.area, r.effect))
            ]
        # Users created a moment ago, at access version 1 with a fresh random stamp: no
        # cache entry can exist for them, so the guarded querysets' bump of their access
        # version (an UPDATE of every row of the batch, twice) is not needed, and the
        # memberships and rules go in at COPY speed.
        insert_values(Membership, ("user_id", "group_id"), memberships)
        insert_values(Rule, ("user_id", "area", "effect", "actions"), rules)
        audit.record_plain(
            audit.Action.CREATE,
            actor_label=ACTOR,
            object_type=object_type,
            rows=[
                (
                    user_id,
                    # what the entry of a User object would say: its own reseller
                    _user_reseller(item.spec, resellers),
                    f"Created user {item.spec.email}.",
                    _new_user_changes(item.spec),
                )
                for user_id, item in zip(ids, batch, strict=True)
            ],
        )


def _user_reseller(spec: UserSpec, resellers: dict[str, int]) -> int | None:
    return resellers[spec.reseller.lower()] if spec.reseller is not None else None


def _update_users(items: list[Pending], groups, resellers) -> None:
    """Changed users of one batch: one load, one update of their columns with the side
    effects ``accounts.services.users_bulk_update`` shares with the users page,
    memberships and rules in bulk, and one audit entry per user."""
    User = get_user_model()
    Membership = Group.members.through
    loaded = User.objects.in_bulk([item.existing[0] for item in items])
    changed = {}
    entries = []
    for item in items:
        user_id, state = item.existing
        user = loaded[user_id]
        for name, value in _user_values(item.spec, resellers).items():
            setattr(user, name, value)
        changed[user_id] = {USER_COLUMNS[name] for name in item.changed if name in USER_COLUMNS}
        changes = {
            name: _user_change(name, state[name], _user_wanted(item.spec)[name])
            for name in item.changed
        }
        entries.append(_entry(audit.Action.UPDATE, user, f"Updated user {user.email}.", changes))
    users_bulk_update(users=list(loaded.values()), changed=changed)
    audit.record_many(entries)

    regrouped = {item.existing[0]: item.spec.groups for item in items if "groups" in item.changed}
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

    reruled = {item.existing[0]: item.spec.rules for item in items if "rules" in item.changed}
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
