"""The users table's rows, written in Python.

Django admin builds its changelist rows in Python too (``items_for_result``): a template
loop over 25 rows of seven cells each, with links, pills and a local time, was the largest
part of the users page once its queries were few (about 2,000 Python calls a row). The
markup is the one the template wrote; every value is escaped here."""

from __future__ import annotations

from collections.abc import Iterable, Set
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

from accounts.models import User, UserStatus
from controlpanel.kit.urls import row_url

_STATUS = {
    UserStatus.ACTIVE: '<span class="pill pill--ok">✓ active</span>',
    UserStatus.INVITED: '<span class="pill pill--warn">✉ invited</span>',
    UserStatus.DEACTIVATED: '<span class="pill pill--no">✗ deactivated</span>',
}
_UNVERIFIED = (
    '<span class="pill pill--warn" title="The e-mail address has not been verified">'
    "unverified</span>"
)
_LOCKED = (
    '<span class="pill pill--no" title="Too many failed sign-ins; unlock from the user\'s '
    'page">locked</span>'
)
_ADMINISTRATOR = '<span class="pill pill--warn">Administrator</span>'
_NO_GROUPS = '<span class="muted">none</span>'
_NEVER = '<span class="muted">never</span>'


def _last_sign_in(user: User) -> str:
    if user.last_login is None:
        return _NEVER
    local = template_localtime(user.last_login)
    return (
        f'<span class="nowrap">{local:%Y-%m-%d}</span> '
        f'<span class="muted small nowrap">{local:%H:%M}</span>'
    )


def user_rows(people: Iterable[User], *, actor_pk: int, locked: Set[str]) -> SafeString:
    """One ``<tr>`` per user: name (linked) and e-mail with the Edit, Password and Access
    links (Edit and Password where ``person.edit_answer`` allows, Password not for the
    actor's own row), groups (``person.group_list``), role, reseller, last sign-in in the
    current time zone, and status pills (``locked``: the e-mails locked out)."""
    detail, update = row_url("user-detail"), row_url("user-update")
    password, access = row_url("user-password"), row_url("user-access")
    rows = []
    for person in people:
        pk = person.pk
        actions = ""
        if person.edit_answer:
            actions = f'<a href="{update(pk)}">Edit</a> '
            if pk != actor_pk:
                actions += f'<a href="{password(pk)}" title="Change password">Password</a> '
        groups = "".join(
            f'<span class="chip">{escape(group.name)}</span> ' for group in person.group_list
        )
        status = _STATUS[person.status]
        if not person.is_verified:
            status += " " + _UNVERIFIED
        if person.email in locked:
            status += " " + _LOCKED
        reseller = escape(str(person.reseller)) if person.reseller else "—"
        rows.append(
            "<tr>"
            f'<td><a href="{detail(pk)}">{escape(person.display_name)}</a>'
            f'<div class="muted small users-table__email">{escape(person.email)}</div>'
            f'<div class="row-actions small">{actions}<a href="{access(pk)}">Access</a></div></td>'
            f"<td>{groups or _NO_GROUPS}</td>"
            f"<td>{_ADMINISTRATOR if person.is_administrator else 'User'}</td>"
            f"<td>{reseller}</td>"
            f"<td>{_last_sign_in(person)}</td>"
            f'<td class="users-table__status">{status}</td>'
            "</tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 (every value escaped above)
