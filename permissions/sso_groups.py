"""Panel groups from the identity provider's group claim (single sign-on, accounts.sso).

Configured by whoever deploys the panel, in the environment (``OIDC_GROUPS_CLAIM``, and
``OIDC_GROUP_MAP`` = ``provider group=Panel group,...``), so the mapping is trusted as a
``manage.py`` command is (``actor`` None to the user services), and bounded:

- only the panel groups named in the map are ever added or removed; every other group of
  the user is left alone, and no group is ever created (a mapped group that does not
  exist is skipped, and the audit entry says so);
- the role is never touched: the mapping cannot make anyone an administrator, and an
  administrator's groups (which grant nothing: administrators hold everything) are left
  alone;
- the change goes through ``permissions.user_services.user_update`` (the users page's
  own service: versions bumped, one audit entry naming the groups added and removed).

Called by ``accounts.sso_views`` through the ``SSO_GROUP_SYNC`` setting (a dotted path:
``accounts`` sits below ``permissions`` and does not import it).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import User
from controlpanel.audit import log as audit

from .models import Group
from .user_services import user_update


def provider_groups(claims: dict) -> set[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM) if settings.OIDC_GROUPS_CLAIM else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return set()
    return {item for item in value if isinstance(item, str)}


@transaction.atomic
def sso_sync_groups(*, user: User, claims: dict, address: str | None = None) -> bool:
    """Set the user's mapped groups to those the provider's claim names; returns True
    when the membership changed."""
    mapping: dict[str, str] = settings.SSO_GROUP_MAP
    if not mapping or not settings.OIDC_GROUPS_CLAIM or user.is_administrator:
        return False
    wanted_names = {mapping[name] for name in provider_groups(claims) if name in mapping}
    managed = {group.name: group for group in Group.objects.filter(name__in=mapping.values())}
    missing = sorted(wanted_names - managed.keys())
    current = list(user.access_groups.all())
    kept = [group for group in current if group.name not in managed]
    mapped = [group for name, group in managed.items() if name in wanted_names]
    before = {group.name for group in current if group.name in managed}
    after = {group.name for group in mapped}
    changed = before != after
    if changed:
        user_update(user=user, groups=kept + mapped, actor=None, address=address)
    if changed or missing:
        parts = [
            f"added {', '.join(sorted(after - before)) or 'none'}",
            f"removed {', '.join(sorted(before - after)) or 'none'}",
        ]
        if missing:
            parts.append(f"not given because no such group exists: {', '.join(missing)}")
        audit.record(
            audit.Action.SSO_GROUPS,
            actor_label="single sign-on",
            address=address,
            obj=user,
            message=f"Groups from the provider's {settings.OIDC_GROUPS_CLAIM!r} claim: "
            + "; ".join(parts)
            + ".",
        )
    return changed
