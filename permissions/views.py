"""Setup > Settings > Groups: list, create (and Create Default Reseller), the group page
with its "Add Group Permission" table and what its members can do, edit and delete.

Views stay thin: forms clean input, ``permissions.services`` decides and writes, and a
refusal from a service is shown with its reason."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import users_visible_to
from controlpanel.audit.refusals import call_service, call_service_on_form, refuse
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import requires
from controlpanel.kit.forms import KeysetPageForm
from controlpanel.kit.keyset import KeysetPage, Seek, page_links

from . import services
from .forms import GroupForm, RuleEditForm, RuleForm
from .models import Group, Rule
from .resolver import is_granular
from .selectors import group_access, groups_overview, permission_grid
from .user_selectors import in_group

RULE_FIELD_MAP = {"actions": "access"}
MEMBERS_PER_PAGE = 50
MEMBERS_COUNT_CAP = 10_000  # as the users list: "more than 10,000 members" beyond
MEMBERS_ORDER = Seek("email", unique=True)


def add_rules_from_form(request: HttpRequest, form: RuleForm, **owner):
    """The add-rule form (one access on one or more areas) applied to a group or a user
    (``owner``: ``group=`` or ``user=``): ``(rules, 200)``, or ``(None, status)`` with the
    refusal on the form. The group page and the user page share it."""
    return call_service_on_form(
        request,
        form,
        lambda: services.rule_create_many(
            **owner,
            areas=form.cleaned_data["area"],
            actions=form.cleaned_data["access"],
            effect=form.cleaned_data["effect"],
            actor=request.user,
            address=client_ip(request),
        ),
        RULE_FIELD_MAP,
    )


def added_message(owner: str, rules) -> str:
    noun = "Rule" if len(rules) == 1 else f"{len(rules)} rules"
    return f"{noun} added to {owner}: {'; '.join(rule.summary for rule in rules)}."


@requires("group", "read")
@require_GET
def group_list_view(request: HttpRequest) -> HttpResponse:
    groups = groups_overview(request.GET.get("page"))
    return render(request, "settings/groups.html", {"groups": groups, "paginate_groups": True})


@requires("group", "create")
@require_http_methods(["GET", "POST"])
def group_create_view(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        group, status = call_service_on_form(
            request,
            form,
            lambda: services.group_create(
                name=form.cleaned_data["name"],
                defaults=form.cleaned_data["defaults"],
                actor=request.user,
                address=client_ip(request),
            ),
        )
        if group is not None:
            messages.success(request, f"Group {group.name} was created.")
            return redirect("group-detail", pk=group.pk)
    return render(request, "settings/group_form.html", {"form": form, "group": None}, status=status)


@requires("group", "create")
@require_POST
def group_create_default_reseller_view(request: HttpRequest) -> HttpResponse:
    outcome = call_service(
        request,
        lambda: services.group_create_default_reseller(
            actor=request.user, address=client_ip(request)
        ),
    )
    if not outcome.ok:
        return refuse(request, area="group", action="create", reason=outcome.message)
    group = outcome.value
    messages.success(
        request,
        f"Group {group.name} was created with the reseller preset; adjust it below.",
    )
    return redirect("group-detail", pk=group.pk)


@requires("group", "read")
@require_GET
def group_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    rules = list(group.rules.all())
    grid = permission_grid(group_access(group))
    # The members the actor may see, a page at a time by e-mail (a keyset page: one indexed
    # query at any depth), counted up to a cap: a group of 30,000 costs what one of 30 does.
    members, few = in_group(users_visible_to(request.user), group)
    paging = KeysetPageForm(request.GET, seek=MEMBERS_ORDER)
    page = KeysetPage(
        members.only("id", "email", "name"),
        MEMBERS_ORDER.unindexed() if few else MEMBERS_ORDER,
        per_page=MEMBERS_PER_PAGE,
        **paging.page(),
    )
    return render(
        request,
        "settings/group_detail.html",
        {
            "group": group,
            "rules": rules,
            "granular": is_granular(rule.effect for rule in rules),
            "rule_form": RuleForm.keeping(request.GET),
            "grid": grid,
            "members": page,
            "member_count": members.order_by()[: MEMBERS_COUNT_CAP + 1].count(),
            "member_count_cap": MEMBERS_COUNT_CAP,
            "member_pages": page_links(
                reverse("group-detail", args=[group.pk]), "", page, fragment="#members"
            ),
            "paging_errors": paging.errors,
        },
    )


@requires("group", "update")
@require_http_methods(["GET", "POST"])
def group_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    form = GroupForm(request.POST or None, instance=group)
    status = 200
    if request.method == "POST" and form.is_valid():
        saved, status = call_service_on_form(
            request,
            form,
            lambda: services.group_update(
                group=group,
                name=form.cleaned_data["name"],
                defaults=form.cleaned_data["defaults"],
                expected_updated_at=form.cleaned_data["updated_at"],
                actor=request.user,
                address=client_ip(request),
            ),
        )
        if saved is not None:
            messages.success(request, f"Group {saved.name} was saved.")
            return redirect("group-detail", pk=saved.pk)
    return render(
        request, "settings/group_form.html", {"form": form, "group": group}, status=status
    )


def _confirm(request, *, title, question, button, call, done, redirect_to, cancel_url):
    """GET asks; POST does it through the service, or shows why it was refused."""
    error, status = "", 200
    if request.method == "POST":
        outcome = call_service(request, call)
        if outcome.ok:
            messages.success(request, done)
            return redirect(redirect_to)
        error, status = outcome.message, 403 if outcome.status == 403 else 409
    return render(
        request,
        "settings/confirm.html",
        {
            "title": title,
            "question": question,
            "button": button,
            "danger": True,
            "error": error,
            "cancel_url": cancel_url,
        },
        status=status,
    )


@requires("group", "delete")
@require_http_methods(["GET", "POST"])
def group_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    count = group.members.count()
    return _confirm(
        request,
        title=f"Delete the group {group.name}",
        question=(
            f"Its {count} member{'s' if count != 1 else ''} will lose what this group grants "
            "(and any deny it carries). Its rules are deleted with it."
        ),
        button="Delete group",
        call=lambda: services.group_delete(
            group=group, actor=request.user, address=client_ip(request)
        ),
        done=f"Group {group.name} was deleted.",
        redirect_to=reverse("group-list"),
        cancel_url=reverse("group-detail", args=[group.pk]),
    )


@requires("group", "update")
@require_http_methods(["GET", "POST"])
def group_rule_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    form = RuleForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        rules, status = add_rules_from_form(request, form, group=group)
        if rules is not None:
            messages.success(request, added_message(group.name, rules))
            # Back to the group with the same choices ticked, to add similar rules quickly.
            detail = reverse("group-detail", args=[group.pk])
            return redirect(f"{detail}?{form.kept_choices()}#add-rule")
    return render(
        request,
        "settings/rule_form.html",
        {
            "form": form,
            "title": f"Add Group Permission to {group.name}",
            "cancel_url": reverse("group-detail", args=[group.pk]),
            "note": (
                "An allow rule makes the group granular: its default permissions stop "
                "applying and it grants exactly its allow rules. A deny only takes away."
            ),
        },
        status=status,
    )


@requires("group", "update")
@require_http_methods(["GET", "POST"])
def group_rule_update_view(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    rule = get_object_or_404(Rule, pk=rule_pk, group=group)
    form = RuleEditForm(request.POST or None, rule=rule)
    status = 200
    if request.method == "POST" and form.is_valid():
        saved, status = call_service_on_form(
            request,
            form,
            lambda: services.rule_update(
                rule=rule, **form.service_kwargs(), actor=request.user, address=client_ip(request)
            ),
            RULE_FIELD_MAP,
        )
        if saved is not None:
            messages.success(request, f"Rule of {group.name} saved: {saved.summary}.")
            return redirect("group-detail", pk=group.pk)
    return render(
        request,
        "settings/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "title": f"Edit a rule of {group.name}",
            "cancel_url": reverse("group-detail", args=[group.pk]),
            "note": (
                "Changing the area or the effect is checked like adding a rule: you can only "
                "give what you hold yourself."
            ),
        },
        status=status,
    )


@requires("group", "update")
@require_http_methods(["GET", "POST"])
def group_rule_delete_view(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    rule = get_object_or_404(Rule, pk=rule_pk, group=group)
    last_allow = (
        rule.effect == "allow"
        and not group.rules.filter(effect="allow").exclude(pk=rule.pk).exists()
    )
    question = f"Delete the rule “{rule}” ({rule.api_path}) of {group.name}?"
    if last_allow:
        question += (
            f" It is the group's last allow rule: the group goes back to defaults mode and "
            f"grants {', '.join(group.default_actions) or 'nothing'} on every area."
        )
    return _confirm(
        request,
        title=f"Delete a rule of {group.name}",
        question=question,
        button="Delete rule",
        call=lambda: services.rule_delete(
            rule=rule, actor=request.user, address=client_ip(request)
        ),
        done=f"Rule “{rule}” of {group.name} was deleted.",
        redirect_to=reverse("group-detail", args=[group.pk]),
        cancel_url=reverse("group-detail", args=[group.pk]),
    )
