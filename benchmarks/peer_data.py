"""The peer's data for ``peer.py``: the panel's population (``population.py``) in stock
``django.contrib.auth`` models, plus the same resellers and audit trail in the panel's own
``Reseller`` and ``AuditEntry`` tables (installed in the peer, see ``peer_settings.py``).
Users, memberships and audit entries are written with COPY on PostgreSQL
(``generate_access_data.bulk_write``), a batch at a time.

Mapping: the panel's name → ``first_name`` + ``last_name`` (the search tokens are in the
last name), its e-mail → ``email``, and ``username`` the e-mail's local part; an
administrator → ``is_staff`` + ``is_superuser``; a group's 20 rules → 20 random
permissions."""

from __future__ import annotations

import random
import sys

from generate_access_data import BATCH, audit_rows, bulk_write, next_id, reset_sequence
from population import Population


def generate_peer(
    users: int, groups: int, *, resellers: int = 200, audit: int | None = None, stream=sys.stderr
) -> str:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, Permission, User
    from django.db import transaction
    from django.utils import timezone

    from controlpanel.audit.models import AuditEntry
    from controlpanel.kit.progress import progress_bar
    from resellers.models import Reseller

    audit = users if audit is None else audit
    rng = random.Random(2026)
    population = Population(users, groups)
    with transaction.atomic():
        first_reseller = next_id(Reseller)
        bulk_write(
            Reseller,
            [
                {"id": first_reseller + r, "name": f"Bench reseller {r:04d}", "email": ""}
                for r in range(resellers)
            ],
        )
        group_objs = Group.objects.bulk_create(
            [Group(name=f"Bench group {i:05d}") for i in range(groups)], batch_size=BATCH
        )
        group_ids = [g.pk for g in group_objs]
        permissions = list(Permission.objects.order_by("pk"))
        through = Group.permissions.through
        through.objects.bulk_create(
            [
                through(group_id=g.pk, permission_id=p.pk)
                for g in group_objs
                for p in rng.sample(permissions, min(20, len(permissions)))
            ],
            batch_size=BATCH,
        )
        password = make_password("bench-password-not-for-use")
        membership = User.groups.through
        first_user = next_id(User)
        members = population.memberships()
        bar = progress_bar(stream, users, "peer users", show=True)
        for start in range(0, users, BATCH):
            stop = min(start + BATCH, users)
            batch = []
            for i in range(start, stop):
                person = population.person(i)
                batch.append(
                    {
                        "id": first_user + i,
                        "username": person["username"],
                        "email": person["email"],
                        "first_name": person["first_name"],
                        "last_name": person["last_name"],
                        "is_staff": person["administrator"],
                        "is_superuser": person["administrator"],
                        "password": password,
                    }
                )
            bulk_write(User, batch)
            links = []
            for _ in range(start, stop):
                i, indexes = next(members)
                links += [{"user_id": first_user + i, "group_id": group_ids[g]} for g in indexes]
            bulk_write(membership, links)
            bar.update(stop)
        bar.finish()
        now = timezone.now()
        first_entry = next_id(AuditEntry)
        for start in range(0, audit, BATCH):
            entries = audit_rows(
                population,
                start,
                min(start + BATCH, audit),
                audit,
                first_entry=first_entry,
                first_user=first_user if users else None,
                now=now,
            )
            bulk_write(AuditEntry, entries)
        for model in (Reseller, User, AuditEntry):
            reset_sequence(model)
    return f"Peer: {users} users, {groups} groups, {resellers} resellers, {audit} audit entries."
