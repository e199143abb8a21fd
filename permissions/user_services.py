"""Writes to users that touch access: the Setup > Settings > Users pages, commands and
the API call these, never the ORM.

``actor`` is the signed-in user making the change; None means a trusted caller (a
management command, the shell) and skips the permission and escalation checks, which
live in ``permissions.checks`` and are shared with groups. Two rules hold for every
caller: the panel keeps at least one active administrator, and a form rendered before
someone else's save cannot overwrite it (``expected_updated_at``).
"""

from __future__ import annotations

import datetime

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone as django_timezone

from accounts import lifecycle, passkeys, two_factor
from accounts.api_tokens import api_tokens_revoke_all
from accounts.ipwhitelist import parse_whitelist, stored_whitelist, typed_entries
from accounts.models import Role, User
from controlpanel.audit import log as audit
from permissions.checks import (
    LAST_ADMINISTRATOR,  # noqa: F401  (re-exported: the refusal's text, for callers)
    UNCHANGED,
    ActorContext,
    actor_context,
    ensure_fresh,
    ensure_may_manage_user,
    ensure_not_last_administrator,
    ensure_user_access_change_held,
)
from permissions.models import Effect, Group, Rule
from permissions.resolver import GroupData
from permissions.review_cache import forget_counts
from permissions.rule_services import rule_create, rule_delete, rule_set
from permissions.selectors import access_data
from permissions.signals import touch_users

ONLY_ADMINISTRATORS_MAKE_ADMINISTRATORS = "Only an administrator can make someone an administrator."
STALE_USER = (
    "This user was changed by someone else after you opened the form. Nothing was saved; "
    "reload the page to see the current values and make your change again."
)
NOT_YOURSELF = "You cannot {doing} your own account here."
SELF_RESET_REFUSED = (
    "To change your own password use Your profile → Change your password, which asks for "
    "your current one."
)
RESELLER_FORCED = "You create and edit users of your own reseller only."


# --- Side effects of a change, shared by single and bulk writes ------------------------

# Changing any of these ends the user's sessions (they enter the session auth hash).
SESSION_ENDING_FIELDS = frozenset({"role", "email", "ip_whitelist", "is_active", "sso_only"})


def user_apply_change_effects(user: User, changed) -> list[str]:
    """Apply to ``user``, before it is saved, what changing the ``changed`` fields
    entails: a change of role, e-mail, whitelist or active flag ends their sessions; a new
    address is unproven. Returns the extra columns a partial save must write."""
    columns = []
    if SESSION_ENDING_FIELDS & set(changed):
        user.end_sessions()
        columns.append("session_version")
    if "email" in changed:
        user.email_verified_at = None
        columns.append("email_verified_at")
    return columns


@transaction.atomic
def users_bulk_update(*, users: list[User], changed: dict[int, set[str]]) -> None:
    """Save many users whose ``changed[user.pk]`` fields were set on the instances, in
    one statement, with the side effects ``user_update`` has (``user_apply_change_effects``)
    and one bump of their access version. A trusted caller's write: no permission check."""
    now = django_timezone.now()
    columns = {"updated_at"}
    for user in users:
        columns |= changed[user.pk]
        columns.update(user_apply_change_effects(user, changed[user.pk]))
        user.updated_at = now
    User.objects.bulk_update(users, sorted(columns))
    touch_users([user.pk for user in users])
    forget_counts()  # bulk_update sends no post_save


# --- Helpers ---------------------------------------------------------------------------


def _parse_whitelist(lines) -> list[dict[str, str]]:
    try:
        return stored_whitelist(parse_whitelist(list(lines)))
    except ValidationError as error:
        raise ValidationError({"ip_whitelist": error.messages}) from None


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None


def _lock(user: User, *, with_administrators: bool = False) -> User:
    """The user's row, locked and fresh. ``with_administrators``: lock the active
    administrators' rows too, all in one query in id order, for a change that may remove
    an administrator; every such change locks in the same order, so two of them wait for
    each other instead of deadlocking."""
    if not with_administrators:
        return User.objects.select_for_update().get(pk=user.pk)
    rows = User.objects.select_for_update().filter(
        Q(pk=user.pk) | Q(role=Role.ADMINISTRATOR, is_active=True)
    )
    return next(row for row in rows.order_by("pk") if row.pk == user.pk)


def _ensure_not_last_administrator(user: User) -> None:
    """``checks.ensure_not_last_administrator``, with the administrators' rows locked
    first, so two requests removing the last two administrators at once are decided one
    after the other (PostgreSQL; SQLite serialises writes)."""
    if not (user.is_administrator and user.is_active):
        return
    administrators = (
        User.objects.select_for_update()
        .filter(role=Role.ADMINISTRATOR, is_active=True)
        .values_list("pk", flat=True)
    )
    ensure_not_last_administrator(user, list(administrators))


def _ensure_reseller_scope(ctx: ActorContext, reseller):
    """A reseller's user creates and edits users of their own reseller only."""
    if ctx.reseller_id is None:
        return reseller
    if reseller is not None and reseller.pk != ctx.reseller_id:
        raise PermissionDenied(RESELLER_FORCED)
    return ctx.user.reseller


def _check_groups(ctx: ActorContext, user: User | None, groups) -> tuple[list, list]:
    """Refuse a new set of groups that would grant what the actor does not hold; returns
    the (added, removed) groups."""
    new_ids = {group.pk for group in groups}
    old_ids = set(user.access_groups.values_list("pk", flat=True)) if user else set()
    added = [group for group in groups if group.pk not in old_ids]
    removed = list(Group.objects.filter(pk__in=old_ids - new_ids).order_by("name"))
    if ctx.unlimited or not (added or removed):
        return added, removed
    user_id = user.pk if user else None
    before = access_data(old_ids, user_id) if user else ([], [])
    after = access_data(new_ids, user_id)
    ensure_user_access_change_held(
        ctx,
        before=before,
        after=after,
        added_groups=[GroupData(group.name, group.defaults) for group in added],
        doing="change this user's groups",
    )
    return added, removed


def _group_changes(added, removed) -> dict:
    return {
        "groups": {
            "added": sorted(group.name for group in added),
            "removed": sorted(group.name for group in removed),
        }
    }


# --- Users -----------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    name: str = "",
    role: str = Role.ADMINISTRATOR,
    reseller=None,
    groups=(),
    timezone: str = "UTC",
    ip_whitelist=(),
    shared_ticket: bool = False,
    sso_only: bool = False,
    actor=None,
    address: str | None = None,
) -> User:
    """A new login. The role defaults to administrator, as ACCESS_MODEL.md's import does.
    ``password`` None leaves the password unusable, for an invitation to set it."""
    ctx = actor_context(actor)
    ctx.require("user", "create")
    if role == Role.ADMINISTRATOR and not ctx.is_trusted_or_administrator:
        raise PermissionDenied(ONLY_ADMINISTRATORS_MAKE_ADMINISTRATORS)
    reseller = _ensure_reseller_scope(ctx, reseller)
    user = User(
        email=User.objects.normalize_email(email or "").lower(),
        name=(name or "").strip(),
        role=role,
        reseller=reseller,
        timezone=timezone,
        ip_whitelist=_parse_whitelist(ip_whitelist),
        shared_ticket=shared_ticket,
        sso_only=sso_only,
    )
    if password is None:
        user.set_unusable_password()  # an invitation sets it (accounts.lifecycle)
    else:
        _validate_password(password, user)
        user.set_password(password)
    user.full_clean()
    groups = list(groups)
    _check_groups(ctx, None, groups)
    user.save()
    user.access_groups.set(groups)
    audit.record(
        audit.Action.CREATE,
        actor=ctx.user,
        address=address,
        obj=user,
        message=f"Created user {user.email}.",
        changes={
            "email": {"after": user.email},
            "name": {"after": user.name},
            "role": {"after": user.role},
            "reseller": {"after": str(reseller) if reseller else None},
            "timezone": {"after": user.timezone},
            "ip_whitelist": {"after": typed_entries(user.ip_whitelist)},
            "shared_ticket": {"after": user.shared_ticket},
            **({"sso_only": {"after": True}} if user.sso_only else {}),
            **_group_changes(groups, []),
        },
    )
    return user


@transaction.atomic
def user_update(
    *,
    user: User,
    name=UNCHANGED,
    email=UNCHANGED,
    role=UNCHANGED,
    reseller=UNCHANGED,
    groups=UNCHANGED,
    timezone=UNCHANGED,
    ip_whitelist=UNCHANGED,
    shared_ticket=UNCHANGED,
    sso_only=UNCHANGED,
    expected_updated_at: datetime.datetime | None = None,
    actor=None,
    address: str | None = None,
) -> User:
    """Change the given fields (those left out keep their value). Changes to role,
    e-mail or IP whitelist end the user's sessions."""
    ctx = actor_context(actor)
    ctx.require("user", "update")
    target = _lock(user, with_administrators=role is not UNCHANGED)
    ensure_fresh(target.updated_at, expected_updated_at, STALE_USER)

    new = {}
    if name is not UNCHANGED:
        new["name"] = (name or "").strip()
    if email is not UNCHANGED:
        new["email"] = User.objects.normalize_email(email or "").lower()
    if role is not UNCHANGED:
        new["role"] = role
    if reseller is not UNCHANGED:
        new["reseller"] = reseller
    if timezone is not UNCHANGED:
        new["timezone"] = timezone
    if ip_whitelist is not UNCHANGED:
        new["ip_whitelist"] = _parse_whitelist(ip_whitelist)
    if shared_ticket is not UNCHANGED:
        new["shared_ticket"] = shared_ticket
    if sso_only is not UNCHANGED:
        new["sso_only"] = bool(sso_only)
    changed = {field: value for field, value in new.items() if getattr(target, field) != value}
    groups_changing = groups is not UNCHANGED and {g.pk for g in groups} != set(
        target.access_groups.values_list("pk", flat=True)
    )
    own_access = bool({"role", "ip_whitelist", "sso_only"} & set(changed)) or groups_changing
    ensure_may_manage_user(ctx, target, own_access=own_access)

    if changed.get("role") == Role.ADMINISTRATOR and not ctx.is_trusted_or_administrator:
        raise PermissionDenied(ONLY_ADMINISTRATORS_MAKE_ADMINISTRATORS)
    if "reseller" in changed and ctx.reseller_id is not None:
        raise PermissionDenied(RESELLER_FORCED)
    if "role" in changed and target.is_administrator:
        _ensure_not_last_administrator(target)

    audit_changes = {}
    for field, value in changed.items():
        before = getattr(target, field)
        if field == "ip_whitelist":
            before, after = typed_entries(before), typed_entries(value)
        elif field == "reseller":
            before, after = (str(before) if before else None), (str(value) if value else None)
        else:
            after = value
        audit_changes[field] = {"before": before, "after": after}
        setattr(target, field, value)

    added, removed = [], []
    if groups_changing:
        added, removed = _check_groups(ctx, target, list(groups))
        audit_changes.update(_group_changes(added, removed))
    if not audit_changes:
        return target
    if changed:
        target.full_clean()
        user_apply_change_effects(target, changed)
        target.save()
    else:
        # A change of groups alone still moves the version, so a form opened before it
        # cannot silently put the old groups back.
        target.save(update_fields=["updated_at"])
    if groups_changing:
        target.access_groups.set(list(groups))
    audit.record(
        audit.Action.UPDATE,
        actor=ctx.user,
        address=address,
        obj=target,
        message=f"Updated user {target.email}.",
        changes=audit_changes,
    )
    return target


@transaction.atomic
def user_set_groups(*, user: User, groups, actor=None, address: str | None = None) -> User:
    """Replace the user's groups; the audit entry names the groups added and removed."""
    return user_update(user=user, groups=list(groups), actor=actor, address=address)


@transaction.atomic
def user_set_password(*, user: User, password: str, actor=None, address: str | None = None) -> User:
    """An administrator (or a user manager) sets someone's password. It is never
    e-mailed; the new hash ends all of the user's sessions."""
    ctx = actor_context(actor)
    ctx.require("user", "update")
    target = _lock(user)
    if ctx.user is not None and target.pk == ctx.user.pk:
        raise PermissionDenied(SELF_RESET_REFUSED)
    ensure_may_manage_user(ctx, target)
    _validate_password(password, target)
    target.set_password(password)
    target.save(update_fields=["password", "updated_at"])
    api_tokens_revoke_all(
        user=target,
        reason="Password set by an administrator.",
        actor=ctx.user,
        address=address,
    )
    audit.record(
        audit.Action.PASSWORD_CHANGE,
        actor=ctx.user,
        address=address,
        obj=target,
        message=f"Password of {target.email} set by {ctx.user.email if ctx.user else 'system'}.",
    )
    return target


def _set_active(ctx: ActorContext, user: User, active: bool, address) -> User:
    target = _lock(user, with_administrators=not active)
    if ctx.user is not None and target.pk == ctx.user.pk:
        raise PermissionDenied(NOT_YOURSELF.format(doing="activate" if active else "deactivate"))
    ensure_may_manage_user(ctx, target)
    if target.is_active == active:
        return target
    if not active:
        _ensure_not_last_administrator(target)
    target.is_active = active
    user_apply_change_effects(target, {"is_active"})
    target.save()
    audit.record(
        audit.Action.UPDATE,
        actor=ctx.user,
        address=address,
        obj=target,
        message=f"{'Activated' if active else 'Deactivated'} user {target.email}.",
        changes={"is_active": {"before": not active, "after": active}},
    )
    return target


@transaction.atomic
def user_deactivate(*, user: User, actor=None, address: str | None = None) -> User:
    """The user can no longer sign in, and their sessions end."""
    ctx = actor_context(actor)
    ctx.require("user", "update")
    return _set_active(ctx, user, False, address)


@transaction.atomic
def user_activate(*, user: User, actor=None, address: str | None = None) -> User:
    ctx = actor_context(actor)
    ctx.require("user", "update")
    return _set_active(ctx, user, True, address)


@transaction.atomic
def user_delete(*, user: User, actor=None, address: str | None = None) -> None:
    ctx = actor_context(actor)
    ctx.require("user", "delete")
    target = _lock(user, with_administrators=True)
    if ctx.user is not None and target.pk == ctx.user.pk:
        raise PermissionDenied(NOT_YOURSELF.format(doing="delete"))
    ensure_may_manage_user(ctx, target)
    _ensure_not_last_administrator(target)
    audit.record(
        audit.Action.DELETE,
        actor=ctx.user,
        address=address,
        obj=target,
        message=f"Deleted user {target.email}.",
        changes={
            "email": {"before": target.email},
            "name": {"before": target.name},
            "role": {"before": target.role},
            **_group_changes([], list(target.access_groups.order_by("name"))),
        },
    )
    target.delete()


# --- A user's own rules (exceptions) ---------------------------------------------------


def user_rule_create(
    *,
    user: User,
    area: str,
    actions,
    effect: str = Effect.ALLOW,
    actor=None,
    address: str | None = None,
) -> Rule:
    """Add a user-level rule; refused when the user already has one for (area, effect)."""
    return rule_create(
        user=user, area=area, actions=actions, effect=effect, actor=actor, address=address
    )


def user_rule_set(
    *,
    user: User,
    area: str,
    actions,
    effect: str = Effect.ALLOW,
    actor=None,
    address: str | None = None,
) -> Rule:
    """Create or replace the user's rule for (area, effect)."""
    return rule_set(
        user=user, area=area, actions=actions, effect=effect, actor=actor, address=address
    )


def user_rule_delete(*, rule: Rule, actor=None, address: str | None = None) -> None:
    if rule.user_id is None:
        raise ValidationError("That rule belongs to a group, not to a user.")
    rule_delete(rule=rule, actor=actor, address=address)


# --- Lifecycle actions on someone else's account (accounts.lifecycle does the work) ----

RESET_OWN_TWO_FACTOR_REFUSED = "Turn your own two-factor sign-in off on your profile, not here."
REMOVE_OWN_PASSKEYS_REFUSED = "Remove your own passkeys on your profile, not here."


def _managed(ctx: ActorContext, user: User) -> User:
    target = User.objects.select_for_update().get(pk=user.pk)
    ensure_may_manage_user(ctx, target)
    return target


@transaction.atomic
def user_invite(*, user: User, actor, request) -> User:
    """(Re-)send the invitation of a user the actor may manage."""
    ctx = actor_context(actor)
    return lifecycle.user_send_invite(user=_managed(ctx, user), actor=ctx.user, request=request)


@transaction.atomic
def user_send_reset(*, user: User, actor, request) -> User:
    """ "Send a password reset link instead" for a user the actor may manage."""
    ctx = actor_context(actor)
    return lifecycle.user_send_reset_link(user=_managed(ctx, user), actor=ctx.user, request=request)


@transaction.atomic
def user_unlock(*, user: User, actor, address: str | None) -> int:
    """Clear the sign-in lockout of a user the actor may manage."""
    ctx = actor_context(actor)
    return lifecycle.user_unlock(user=_managed(ctx, user), actor=ctx.user, address=address)


@transaction.atomic
def user_two_factor_reset(*, user: User, actor, address: str | None) -> bool:
    """Reset the lost second factor of a user the actor may manage (never their own)."""
    ctx = actor_context(actor)
    ctx.require("user", "update")
    if ctx.user is not None and user.pk == ctx.user.pk:
        raise PermissionDenied(RESET_OWN_TWO_FACTOR_REFUSED)
    return two_factor.two_factor_reset(user=_managed(ctx, user), actor=ctx.user, address=address)


NO_PASSKEYS = "{user} has no passkeys; nothing was changed."


@transaction.atomic
def user_passkeys_remove(*, user: User, actor, address: str | None) -> list[str]:
    """Remove every passkey of a user the actor may manage (a lost or stolen device);
    their sessions end. Removing one's own is done on the profile, with fresh proof."""
    ctx = actor_context(actor)
    ctx.require("user", "update")
    if ctx.user is not None and user.pk == ctx.user.pk:
        raise PermissionDenied(REMOVE_OWN_PASSKEYS_REFUSED)
    removed = passkeys.passkeys_remove(user=_managed(ctx, user), actor=ctx.user, address=address)
    if not removed:
        raise ValidationError(NO_PASSKEYS.format(user=user.email))
    return removed
