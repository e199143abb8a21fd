"""The pages ``peer.py`` compares, and who is signed in on each side.

Two pairs of actors:
- ``admin``: the panel's administrator against admin's superuser (each side's all-powerful
  user; neither checks a rule);
- ``reader``: a panel role-"user" who reads users, groups, resellers and the audit log
  through one group's rules and has an IP whitelist, against an admin staff user (not a
  superuser) who has the four ``view_*`` permissions through a group (ModelBackend loads
  them).

Each page is a key shared by both sides; ``panel_scenarios`` and ``peer_scenarios`` give
its (path, query) on that side. A reader pair skips the edit pages (a reader may not
open them); instead it compares the panel's read-only user page with admin's read-only
change page.
"""

from __future__ import annotations

import math

from population import SEARCH_TERMS, Population

PASSWORD = "bench-password-not-for-use"
PANEL_ADMIN = "zz-bench-admin@example.org"
PANEL_READER = "zz-bench-reader@example.org"
PEER_SUPER = "zz-bench-super"
PEER_STAFF = "zz-bench-staff"

USERS_PER_PAGE = 25  # both sides (peer_urls.py sets admin's list_per_page to these)
GROUPS_PER_PAGE = 25
AUDIT_PER_PAGE = 50

# page key -> (what the panel shows, its closest admin page)
PAGES = {
    "users list": ("/settings/users/", "user changelist"),
    "users list, last page": ("/settings/users/, last page", "user changelist, last page"),
    **{
        f"search '{term}' ({'all' if hits is None else hits} hits)": (
            "users list searched",
            "user changelist searched",
        )
        for term, hits in SEARCH_TERMS.items()
    },
    "user edit": ("user edit form (3 of ~1,000 groups)", "user change form"),
    "user page (read-only)": ("user detail page", "user change form, view-only"),
    "user access grid": ("effective permissions grid", "user change form (groups, permissions)"),
    "groups list": ("groups list", "group changelist"),
    "group detail (300 members)": (
        "group page: rules, grid, first 50 of its members",
        "user changelist ?groups=g",
    ),
    "group edit": ("group edit form", "group change form"),
    "resellers list": ("resellers list", "reseller changelist"),
    "access review": ("access review, 50 a page", "user changelist, 50 a page"),
    "audit log": ("audit log, newest", "audit entry changelist"),
    "audit log, deep page": ("audit log, oldest page (keyset)", "audit changelist, last page"),
}
EDIT_ONLY = {"user edit", "group edit"}
READER_ONLY = {"user page (read-only)"}


def keys_for(pair: str) -> list[str]:
    return [
        key
        for key in PAGES
        if not (pair == "reader" and key in EDIT_ONLY)
        and not (pair == "admin" and key in READER_ONLY)
    ]


def _search_keys():
    for term, hits in SEARCH_TERMS.items():
        yield f"search '{term}' ({'all' if hits is None else hits} hits)", term


# --- the panel -------------------------------------------------------------------------


def panel_actors():
    """(administrator, reader), created once per database, both with PASSWORD."""
    from accounts.ipwhitelist import parse_whitelist, stored_whitelist
    from accounts.models import Role, User
    from controlpanel.kit.areas import mask_of
    from permissions.models import Group, Rule

    admin = User.objects.filter(email=PANEL_ADMIN).first()
    if admin is None:
        admin = User.objects.create_user(PANEL_ADMIN, PASSWORD, role=Role.ADMINISTRATOR)
    reader = User.objects.filter(email=PANEL_READER).first()
    if reader is None:
        reader = User.objects.create_user(PANEL_READER, PASSWORD, role=Role.USER)
        reader.ip_whitelist = stored_whitelist(parse_whitelist(["127.0.0.1", "10.0.0.0/8"]))
        reader.save()
        group = Group.objects.create(name="Benchmark readers", defaults=0)
        for area in ("user", "group", "reseller", "audit-log"):
            Rule.objects.create(group=group, area=area, actions=mask_of(["read"]))
        reader.access_groups.add(group)
    return admin, reader


def panel_scenarios(users: int, groups: int) -> dict[str, dict[str, tuple[str, str]]]:
    """{pair: {page key: (path, query)}} on the panel."""
    from accounts.models import User
    from controlpanel.audit.log import encode_cursor
    from controlpanel.audit.models import AuditEntry
    from permissions.models import Group

    population = Population(users, groups)
    target = User.objects.get(email=population.person(population.edit_target())["email"])
    group = Group.objects.get(name="Bench group 00000")
    last = max(1, math.ceil(User.objects.count() / USERS_PER_PAGE))
    total = AuditEntry.objects.count()
    oldest = AuditEntry.objects.order_by("-at", "-id")[max(total - AUDIT_PER_PAGE - 1, 0)]
    pages = {
        "users list": ("/settings/users/", ""),
        "users list, last page": ("/settings/users/", f"page={last}"),
        **{key: ("/settings/users/", f"q={term}") for key, term in _search_keys()},
        "user edit": (f"/settings/users/{target.pk}/edit/", ""),
        "user page (read-only)": (f"/settings/users/{target.pk}/", ""),
        "user access grid": (f"/settings/users/{target.pk}/access/", ""),
        "groups list": ("/settings/groups/", ""),
        "group detail (300 members)": (f"/settings/groups/{group.pk}/", ""),
        "group edit": (f"/settings/groups/{group.pk}/edit/", ""),
        "resellers list": ("/settings/resellers/", ""),
        "access review": ("/settings/access-review/", ""),
        "audit log": ("/settings/audit/", ""),
        "audit log, deep page": ("/settings/audit/", f"older={encode_cursor(oldest)}"),
    }
    return {pair: {k: pages[k] for k in keys_for(pair)} for pair in ("admin", "reader")}


# --- the peer (stock Django admin) -----------------------------------------------------


def peer_actors():
    """(superuser, staff viewer), created once per database, both with PASSWORD."""
    from django.contrib.auth.models import Group, Permission, User

    superuser = User.objects.filter(username=PEER_SUPER).first()
    if superuser is None:
        superuser = User.objects.create_superuser(PEER_SUPER, f"{PEER_SUPER}@example.org", PASSWORD)
    staff = User.objects.filter(username=PEER_STAFF).first()
    if staff is None:
        staff = User.objects.create_user(PEER_STAFF, f"{PEER_STAFF}@example.org", PASSWORD)
        staff.is_staff = True
        staff.save()
        viewers = Group.objects.create(name="Benchmark viewers")
        viewers.permissions.add(
            *Permission.objects.filter(
                codename__in=["view_user", "view_group", "view_reseller", "view_auditentry"]
            )
        )
        staff.groups.add(viewers)
    assert not staff.is_superuser and staff.has_perm("audit.view_auditentry")
    return superuser, staff


def peer_scenarios(users: int, groups: int) -> dict[str, dict[str, tuple[str, str]]]:
    from django.contrib.auth.models import Group, User

    from controlpanel.audit.models import AuditEntry

    population = Population(users, groups)
    target = User.objects.get(email=population.person(population.edit_target())["email"])
    group = Group.objects.get(name="Bench group 00000")
    last = max(1, math.ceil(User.objects.count() / USERS_PER_PAGE))
    audit_last = max(1, math.ceil(AuditEntry.objects.count() / AUDIT_PER_PAGE))
    change = f"/admin/auth/user/{target.pk}/change/"
    pages = {
        "users list": ("/admin/auth/user/", ""),
        "users list, last page": ("/admin/auth/user/", f"p={last}"),
        **{key: ("/admin/auth/user/", f"q={term}") for key, term in _search_keys()},
        "user edit": (change, ""),
        "user page (read-only)": (change, ""),
        "user access grid": (change, ""),
        "groups list": ("/admin/auth/group/", ""),
        "group detail (300 members)": ("/admin/auth/user/", f"groups__id__exact={group.pk}"),
        "group edit": (f"/admin/auth/group/{group.pk}/change/", ""),
        "resellers list": ("/admin/resellers/reseller/", ""),
        "access review": ("/admin50/auth/user/", ""),
        "audit log": ("/admin/audit/auditentry/", ""),
        "audit log, deep page": ("/admin/audit/auditentry/", f"p={audit_last}"),
    }
    return {pair: {k: pages[k] for k in keys_for(pair)} for pair in ("admin", "reader")}


# --- what each side does that the other does not (printed with the results) -----------

DIFFERENCES = {
    "panel": (
        "access middleware on every page: the user's IP whitelist, the URL's declared "
        "area/action, the effective permissions (one warm cache read) and can(); the "
        "navigation is built from those permissions; a refusal is audited",
        "the users list shows each user's groups (and, to those who read groups, a groups "
        "column); lists count their rows unless the page says otherwise (see COUNT column)",
    ),
    "peer": (
        "a staff non-superuser's permissions are loaded from the database by ModelBackend "
        "(user and group permissions) on each request; a superuser skips that",
        "every changelist runs COUNT(*) for the paginator and, under a search or filter, a "
        "second COUNT(*) for the full total (show_full_result_count); the nav sidebar lists "
        "every model the user may see",
    ),
}
