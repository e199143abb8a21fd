"""Setup > Settings > Users: the users and groups page, user create/edit, password,
deactivate/delete, user-level rules and the effective-permission grid.

Views stay thin: forms clean input, ``accounts.services`` decides and writes, and a
refusal from a service is shown on the form with its reason."""

from functools import cache
from html import escape

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import lifecycle
from accounts.forms import password_requirements
from accounts.lockout import locked_out_emails
from accounts.models import User
from accounts.selectors import users_visible_to
from accounts.timezones import timezone_names
from controlpanel.audit.refusals import call_service, call_service_on_form, refuse
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import requires
from controlpanel.kit.keyset import KeysetPage, page_links
from permissions.checks import may_edit_user, may_manage_user, may_manage_users, user_answers
from permissions.forms import RuleEditForm, RuleForm, WhatIfForm
from permissions.models import Rule
from permissions.resolver import resolve
from permissions.rule_services import rule_update
from permissions.selectors import (
    access_data,
    group_names,
    groups_overview,
    permission_grid,
    user_access_page,
)
from permissions.views import add_rules_from_form

from . import user_services as services
from .user_forms import UserForm, UserListFilterForm, UserPasswordForm
from .user_rows import user_rows
from .user_selectors import user_list

USERS_PER_PAGE = 25
# The list counts its users up to this many and says "more than" beyond: an exact count
# reads every row, which grows with the table (at 100,000 users it cost more than the
# page); counting up to a cap reads at most the cap's rows from an index.
USERS_COUNT_CAP = 10_000
USER_FIELD_MAP = {"password": "password1"}
RULE_FIELD_MAP = {"actions": "access"}


def _target(request: HttpRequest, pk: int) -> User:
    """A user the actor may see, or 404 (another reseller's user does not exist for them)."""
    return get_object_or_404(users_visible_to(request.user), pk=pk)


def _refusal(request: HttpRequest, target: User, *, own_access: bool = False) -> str:
    """Why the actor may not change this user, or an empty string (the services'
    answer; the view's decorator has checked the action)."""
    return may_manage_user(request.user, target, own_access=own_access).reason


# The sortable columns: (label, sort key).
SORTABLE = {"name": "Name", "email": "E-mail", "last_login": "Last sign-in"}


def _sort_headers(filters: UserListFilterForm, sort: str) -> dict[str, dict]:
    """Each sortable column's link (the other direction when it is the current sort,
    ascending otherwise; back to page 1) and its aria-sort direction."""
    headers = {}
    for key, label in SORTABLE.items():
        current = sort.lstrip("-") == key
        descending = current and sort.startswith("-")
        next_sort = f"-{key}" if current and not descending else key
        headers[key] = {
            "label": label,
            "url": f"?{urlencode(filters.query(sort=next_sort))}",
            "direction": ("descending" if descending else "ascending") if current else "",
        }
    return headers


def _options(choices, selected) -> str:
    """A select's options, built here with the standard library's escaping: a template loop
    (or ``format_html`` per option) over a thousand groups was most of the list's time,
    measured at 100,000 users and 1,000 groups."""
    selected = str(selected)
    html = "".join(
        f'<option value="{escape(str(value))}"{" selected" if str(value) == selected else ""}>'
        f"{escape(str(label))}</option>"
        for value, label in choices
    )
    return mark_safe(html)  # noqa: S308 (every value and label escaped above)


class _WrittenOptions:
    """A select's options as last written, and the choices they were written from: the
    filters' long lists (a thousand groups, hundreds of resellers) change rarely, so they
    are written again only when their choices differ from the last (compared as lists,
    which costs far less than escaping each name), the chosen one marked per request."""

    def __init__(self):
        self.written: tuple[list | None, str] = (None, "")  # replaced whole: thread-safe

    def __call__(self, choices: list, selected) -> str:
        last, html = self.written
        if choices != last:
            html = _options(choices, None)
            self.written = (choices, html)
        value = escape(str(selected))
        return mark_safe(  # noqa: S308 (written by _options, the value escaped)
            html.replace(f'<option value="{value}">', f'<option value="{value}" selected>', 1)
        )


_group_options = _WrittenOptions()
_reseller_options = _WrittenOptions()


@requires("user", "read")
@require_GET
def user_list_view(request: HttpRequest) -> HttpResponse:
    filters = UserListFilterForm(request.GET, actor=request.user)
    applied = filters.applied()
    sort = applied["sort"]
    users, seek = user_list(request.user, **applied)
    # Keyset pages: the first, last or any page between costs one indexed query.
    page = KeysetPage(users, seek, per_page=USERS_PER_PAGE, **filters.page())
    count = None
    if not applied["search"]:
        # No count under a substring match: even capped, a rare term would read the table.
        count = users.order_by()[: USERS_COUNT_CAP + 1].count()
    people = list(page.object_list)
    # The row's Edit and Password links: the services' answer, for the page's users only.
    answers = may_manage_users(request.user, people, action="update", access=request.access)
    for person in people:
        person.edit_answer = answers[person.pk]
    current = filters.query()
    query = urlencode(current)
    return render(
        request,
        "settings/users.html",
        {
            "page": page,
            "people": people,
            "filters": filters,
            "options": {
                "role": _options(filters.fields["role"].choices, current.get("role", "")),
                "status": _options(filters.fields["status"].choices, current.get("status", "")),
                "group": _group_options(
                    [("", "Any group"), *group_names()], current.get("group", "")
                ),
                "reseller": _reseller_options(
                    filters.reseller_choices, current.get("reseller", "")
                ),
            },
            "filtered": any(applied[name] for name in ("role", "status", "group", "reseller")),
            "headers": _sort_headers(filters, sort),
            "sort": sort,
            "rows": user_rows(
                people,
                actor_pk=request.user.pk,
                locked=locked_out_emails(person.email for person in people),
            ),
            "search": applied["search"],
            "count": count,
            "count_cap": USERS_COUNT_CAP,
            "pages": page_links(reverse("user-list"), query, page),
            # the groups column is shown only to those who may read groups
            "groups": groups_overview() if request.access.can("group", "read") else None,
        },
    )


@cache
def _timezone_options() -> str:
    """The time zone field's suggestions, written once per process: a template loop over
    the ~600 names cost a tenth of the user form."""
    html = "".join(f'<option value="{escape(name)}">' for name in timezone_names())
    return mark_safe(html)  # noqa: S308 (every name escaped above)


def _user_form_page(request, form, *, target=None, status=200) -> HttpResponse:
    return render(
        request,
        "settings/user_form.html",
        {
            "form": form,
            "target": target,
            "timezone_options": _timezone_options(),
            "password_requirements": password_requirements(),
            "client_address": client_ip(request),
        },
        status=status,
    )


@requires("user", "create")
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None, actor=request.user, client_address=client_ip(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        user, status = call_service_on_form(
            request,
            form,
            lambda: services.user_create(
                **form.service_kwargs(), actor=request.user, address=client_ip(request)
            ),
            USER_FIELD_MAP,
        )
        if user is not None:
            if user.has_usable_password():
                lifecycle.user_send_verification(user=user, request=request)
                messages.success(
                    request, f"User {user.email} was created; a verification e-mail was sent."
                )
            else:
                services.user_invite(user=user, actor=request.user, request=request)
                messages.success(
                    request, f"User {user.email} was created and invited to set a password."
                )
            return redirect("user-detail", pk=user.pk)
    return _user_form_page(request, form, status=status)


@requires("user", "read")
@require_GET
def user_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    # One reading of the actor (the request's) and at most one of the target's access
    # for the three links: asked one by one, they re-read both for each.
    answers = user_answers(
        request.user,
        target,
        access=request.access,
        edit=("update", False),
        rules=("update", True),
        delete=("delete", False),
    )
    edit = answers["edit"]
    return render(
        request,
        "settings/user_detail.html",
        {
            "target": target,
            "groups": target.access_groups.order_by("name").only("pk", "name"),
            "rules": target.access_rules.order_by("area", "effect"),
            "rule_form": RuleForm.keeping(request.GET),
            "edit": edit,
            "delete": answers["delete"],
            # said once on the page: why someone who may update users cannot change this one
            "refusal": "" if edit or edit.lacks else edit.reason,
            "may_edit_rules": bool(answers["rules"]),
        },
    )


@requires("user", "update")
@require_http_methods(["GET", "POST"])
def user_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    # The page's answers (the Edit check, the groups beyond reach) read the actor as the
    # request did; the save re-reads them (the services' actor_context).
    if not (edit := may_edit_user(request.user, target, access=request.access)):
        return refuse(request, area="user", action="update", reason=edit.reason)
    address = client_ip(request)
    form = UserForm(
        request.POST or None,
        actor=request.user,
        instance=target,
        client_address=address,
        actor_access=request.access,
    )
    status = 200
    email_before = target.email
    if request.method == "POST" and form.is_valid():
        user, status = call_service_on_form(
            request,
            form,
            lambda: services.user_update(
                user=target, **form.service_kwargs(), actor=request.user, address=address
            ),
        )
        if user is not None:
            if user.pk == request.user.pk:
                update_session_auth_hash(request, user)  # this session stays
            if user.email != email_before:
                lifecycle.user_send_verification(user=user, request=request)
            messages.success(request, f"User {user.email} was saved.")
            return redirect("user-detail", pk=user.pk)
    return _user_form_page(request, form, target=target, status=status)


@requires("user", "update")
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def user_password_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    if target.pk == request.user.pk:
        return refuse(request, area="user", action="update", reason=services.SELF_RESET_REFUSED)
    if not (edit := may_edit_user(request.user, target)):
        return refuse(request, area="user", action="update", reason=edit.reason)
    form = UserPasswordForm(target, request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        user, status = call_service_on_form(
            request,
            form,
            lambda: services.user_set_password(
                user=target,
                password=form.cleaned_data["new_password1"],
                actor=request.user,
                address=client_ip(request),
            ),
            {"password": "new_password1"},
        )
        if user is not None:
            lifecycle.notify_password_changed_by_admin(user)
            messages.success(
                request, f"The password of {user.email} was changed; their sessions have ended."
            )
            return redirect("user-detail", pk=user.pk)
    return render(
        request,
        "settings/user_password.html",
        {"form": form, "target": target, "password_requirements": password_requirements()},
        status=status,
    )


def _confirm(
    request,
    target,
    *,
    action,
    title,
    question,
    button,
    call,
    done,
    redirect_to,
    danger=False,
    own_access=False,
):
    """GET asks; POST does it through the service, or shows why it was refused."""
    error, status = "", 200
    if request.method == "POST":
        outcome = call_service(request, call)
        if outcome.ok:
            messages.success(request, done)
            return redirect_to()
        error, status = outcome.message, 403 if outcome.status == 403 else 409
    elif reason := _refusal(request, target, own_access=own_access):
        return refuse(request, area="user", action=action, reason=reason)
    return render(
        request,
        "settings/confirm.html",
        {
            "title": title,
            "question": question,
            "button": button,
            "danger": danger,
            "error": error,
            "cancel_url": reverse("user-detail", args=[target.pk]),
        },
        status=status,
    )


@requires("user", "update")
@require_http_methods(["GET", "POST"])
def user_deactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _confirm(
        request,
        target,
        action="update",
        title=f"Deactivate {target.display_name}",
        question=(
            f"{target.email} will not be able to sign in, and every session they have open "
            "ends now. You can activate them again later."
        ),
        button="Deactivate",
        danger=True,
        call=lambda: services.user_deactivate(
            user=target, actor=request.user, address=client_ip(request)
        ),
        done=f"{target.email} was deactivated.",
        redirect_to=lambda: redirect("user-detail", pk=target.pk),
    )


@requires("user", "update")
@require_http_methods(["GET", "POST"])
def user_activate_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _confirm(
        request,
        target,
        action="update",
        title=f"Activate {target.display_name}",
        question=f"{target.email} will be able to sign in again with their groups and rules.",
        button="Activate",
        call=lambda: services.user_activate(
            user=target, actor=request.user, address=client_ip(request)
        ),
        done=f"{target.email} was activated.",
        redirect_to=lambda: redirect("user-detail", pk=target.pk),
    )


@requires("user", "delete")
@require_http_methods(["GET", "POST"])
def user_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return _confirm(
        request,
        target,
        action="delete",
        title=f"Delete {target.display_name}",
        question=(
            f"{target.email} and their own rules will be deleted for good; the audit log "
            "keeps what they did. Deactivating keeps the account instead."
        ),
        button="Delete user",
        danger=True,
        call=lambda: services.user_delete(
            user=target, actor=request.user, address=client_ip(request)
        ),
        done=f"{target.email} was deleted.",
        redirect_to=lambda: redirect("user-list"),
    )


def _checkboxes(name: str, choices, checked) -> str:
    """Checkboxes (``choices``: id and label), each in its label, built here with the
    standard library's escaping: a template loop over a thousand groups was most of the
    page's time."""
    start = f'<label><input type="checkbox" name="{escape(name)}" value="'
    html = "".join(
        f'{start}{int(value)}"{" checked" if value in checked else ""}> {escape(label)}</label>'
        for value, label in choices
    )
    return mark_safe(html)  # noqa: S308 (every label escaped above; the values are ids)


@requires("user", "read")
@require_GET
def user_access_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The effective-permission grid, and a what-if grid for another set of groups."""
    target = _target(request, pk)
    # The what-if chooser lists every group (a thousand checkboxes, most of the page): it
    # is written when asked for ("Choose groups to try…", or a what-if shown), not on
    # every visit to the grid; then only the user's own groups are read.
    choosing = "what_if" in request.GET or "try" in request.GET
    page = user_access_page(target, every_group=choosing)
    choices = page.choices
    current_groups = [(pk, name) for pk, name in choices if pk in page.member_ids]
    grid = permission_grid(page.access)
    what_if = None
    chosen_ids = page.member_ids
    if "what_if" in request.GET:
        form = WhatIfForm(request.GET)
        if form.is_valid():
            chosen = form.cleaned_data["groups"]
            chosen_ids = {group.pk for group in chosen}
            # Both grids are the resolver's answers; the what-if one marks where they differ.
            chosen_access = resolve(
                *access_data(chosen_ids, target.pk, known=page.known(chosen_ids))
            )
            what_if = {
                "groups": list(chosen),
                "grid": permission_grid(chosen_access, compare_to=grid),
            }
    else:
        form = WhatIfForm()
    return render(
        request,
        "settings/user_access.html",
        {
            "target": target,
            "current_groups": current_groups,
            "grid": grid,
            "form": form,
            "what_if": what_if,
            "choosing": choosing,
            "group_checkboxes": _checkboxes("groups", choices, chosen_ids) if choosing else "",
        },
    )


def _rule_page(request, target, form, status, *, rule=None) -> HttpResponse:
    return render(
        request,
        "settings/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "title": (
                f"Edit a rule of {target.display_name}"
                if rule
                else f"Add a rule for {target.display_name}"
            ),
            "owner_label": target.display_name,
            "cancel_url": reverse("user-detail", args=[target.pk]),
            "note": "A user's own rules add to (allow) or take away from (deny) their groups.",
        },
        status=status,
    )


@requires("user", "update")
@require_http_methods(["GET", "POST"])
def user_rule_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    if reason := _refusal(request, target, own_access=True):
        return refuse(request, area="user", action="update", reason=reason)
    form = RuleForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        rules, status = add_rules_from_form(request, form, user=target)
        if rules is not None:
            noun = "Rule" if len(rules) == 1 else f"{len(rules)} rules"
            added = "; ".join(rule.summary for rule in rules)
            messages.success(request, f"{noun} added for {target.email}: {added}.")
            # Back to the user with the same choices ticked, to add similar rules quickly.
            detail = reverse("user-detail", args=[target.pk])
            return redirect(f"{detail}?{form.kept_choices()}#add-rule")
    return _rule_page(request, target, form, status)


@requires("user", "update")
@require_http_methods(["GET", "POST"])
def user_rule_update_view(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    target = _target(request, pk)
    rule = get_object_or_404(Rule, pk=rule_pk, user=target)
    if reason := _refusal(request, target, own_access=True):
        return refuse(request, area="user", action="update", reason=reason)
    form = RuleEditForm(request.POST or None, rule=rule)
    status = 200
    if request.method == "POST" and form.is_valid():
        saved, status = call_service_on_form(
            request,
            form,
            lambda: rule_update(
                rule=rule, **form.service_kwargs(), actor=request.user, address=client_ip(request)
            ),
            RULE_FIELD_MAP,
        )
        if saved is not None:
            messages.success(request, f"Rule of {target.email} saved: {saved.summary}.")
            return redirect("user-detail", pk=target.pk)
    return _rule_page(request, target, form, status, rule=rule)


@requires("user", "update")
@require_http_methods(["GET", "POST"])
def user_rule_delete_view(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    target = _target(request, pk)
    rule = get_object_or_404(Rule, pk=rule_pk, user=target)
    return _confirm(
        request,
        target,
        action="update",
        title=f"Delete a rule of {target.display_name}",
        question=f"Delete the rule “{rule}” ({rule.api_path}) of {target.email}?",
        button="Delete rule",
        call=lambda: services.user_rule_delete(
            rule=rule, actor=request.user, address=client_ip(request)
        ),
        done=f"Rule “{rule}” of {target.email} was deleted.",
        danger=True,
        own_access=True,
        redirect_to=lambda: redirect("user-detail", pk=target.pk),
    )
