"""The forms of Setup > Settings > Users: a user's account and access, an administrator's
password for someone, the users list's filters. They only clean input; the services in
``permissions.user_services`` decide."""

from html import escape

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordForm
from django.utils.safestring import mark_safe

from accounts import sso
from accounts.forms import PASSWORDS_DIFFER, _password_widget
from accounts.identity import canonical_email
from accounts.ipwhitelist import ip_allowed, parse_whitelist, stored_whitelist, typed_entries
from accounts.models import Role, User
from accounts.timezones import validate_timezone
from controlpanel.kit.forms import KeysetPageForm, VersionField
from resellers.models import Reseller

from .checks import groups_beyond_reach
from .models import Group
from .user_selectors import (
    DEFAULT_SORT,
    NO_RESELLER,
    SORTS,
    STATUS_CHOICES,
    reseller_filter_choices,
)

ADMINISTRATOR_WARNING = (
    "Administrators have full access to every area, present and future: groups and rules "
    "do not apply to them (the IP whitelist does)."
)
WHITELIST_HELP = (
    "One entry a line: an address (1.1.1.1, 2001:db8::1), a prefix ending in a dot "
    "(10., 1.1.1. or 1.1.1.*) or CIDR (1.1.1.0/24). Empty means any address."
)
LOCKOUT_WARNING = (
    "This whitelist does not include the address the panel sees for you ({address}): "
    "saving it will sign you out and keep you out. Tick “Yes, save anyway” to save it."
)


def whitelist_lines(text: str) -> list[str]:
    """The textarea's lines; blank lines at the start and the end are ignored."""
    text = (text or "").strip()
    return text.splitlines() if text else []


class UserForm(forms.Form):
    """Create or edit a user. Fields the actor may not set are not in the form at all
    (role choices, groups, whitelist, reseller); the services check again."""

    name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(label="E-mail", max_length=254)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        required=False,
        widget=forms.PasswordInput,
        help_text="Leave both password fields empty to e-mail the user an invitation instead.",
    )
    password2 = forms.CharField(
        label="Password (again)", strip=False, required=False, widget=forms.PasswordInput
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.ADMINISTRATOR,
        widget=forms.RadioSelect,
        help_text=ADMINISTRATOR_WARNING,
    )
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A user's permissions are the union of their groups' grants, minus denies.",
    )
    reseller = forms.ModelChoiceField(
        label="Reseller account",
        queryset=Reseller.objects.all(),
        required=False,
        empty_label="None: not limited to one reseller",
        help_text="A reseller's user sees only that reseller's records.",
    )
    timezone = forms.CharField(
        label="Time zone",
        initial="UTC",
        max_length=64,
        validators=[validate_timezone],
        widget=forms.TextInput(attrs={"list": "timezone-names", "autocomplete": "off"}),
        help_text="Type to search, e.g. Europe/London.",
    )
    ip_whitelist = forms.CharField(
        label="IP whitelist",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=WHITELIST_HELP,
    )
    shared_ticket = forms.BooleanField(
        label="Shared ticket",
        required=False,
        help_text="Others in the same scope may see the tickets this user raises.",
    )
    sso_only = forms.BooleanField(
        label="Single sign-on only",
        required=False,
        help_text="The user signs in through the organisation's identity provider only; "
        "a password sign-in is refused. Their sessions end when this changes.",
    )
    updated_at = VersionField()
    confirm_lockout = forms.BooleanField(label="Yes, save anyway", required=False)

    def __init__(
        self,
        data=None,
        *,
        actor,
        instance: User | None = None,
        client_address=None,
        actor_access=None,
    ):
        """``actor_access``: the actor's permissions as the request resolved them, for the
        groups offered (``groups_beyond_reach``); without it the actor is read again."""
        self.actor = actor
        self.instance = instance
        self.client_address = client_address
        self.lockout_warning = ""
        initial = {}
        if instance is not None:
            initial = {
                "name": instance.name,
                "email": instance.email,
                "role": instance.role,
                # ids only: the picker names every group from one list of them all
                "groups": list(instance.access_groups.values_list("pk", flat=True)),
                "reseller": instance.reseller_id,
                "timezone": instance.timezone,
                "ip_whitelist": "\n".join(typed_entries(instance.ip_whitelist)),
                "shared_ticket": instance.shared_ticket,
                "sso_only": instance.sso_only,
                "updated_at": instance.updated_at,
            }
        super().__init__(data, initial=initial)
        if instance is None:
            del self.fields["updated_at"]
            for name in ("password1", "password2"):
                _password_widget(self.fields[name])
        else:
            del self.fields["password1"], self.fields["password2"]
        if not actor.is_administrator:
            self.fields["role"].choices = [(Role.USER, Role.USER.label)]
            self.fields["role"].initial = Role.USER
            # a warning about a choice the form does not offer would only confuse
            self.fields["role"].help_text = ""
            self.fields["role"].error_messages["invalid_choice"] = (
                "Only an administrator can make someone an administrator."
            )
            if instance is not None and instance.pk == actor.pk:
                for name in ("role", "groups", "ip_whitelist", "sso_only"):
                    self.fields.pop(name, None)
        if not sso.is_enabled() and not (instance is not None and instance.sso_only):
            self.fields.pop("sso_only", None)  # offered once single sign-on is configured
        if actor.reseller_id is not None:
            del self.fields["reseller"]  # forced to the actor's own reseller
        else:
            # Offered by id and name (what the field's label is): reading whole rows to
            # render them cost as much as the rest of the field. Choosing still checks
            # the field's queryset.
            reseller = self.fields["reseller"]
            reseller.widget.choices = [
                ("", reseller.empty_label),
                *reseller.queryset.values_list("pk", "name"),
            ]
        # Groups the actor could not add this user to, with why: offered disabled, by the
        # same check that refuses the save (groups the user already has are not added).
        self.group_refusals = {}
        if "groups" in self.fields:
            kept = initial.get("groups", [])
            self.group_refusals = groups_beyond_reach(actor, keep=kept, access=actor_access)

    def group_options(self) -> list[dict]:
        """Every group as the form offers it, the ticked ones first (by name, then the
        others by name): ticked or not, and the reason when it may not be chosen."""
        chosen = {str(value) for value in self["groups"].value() or []}
        options = [
            {
                "pk": pk,
                "name": name,
                "checked": str(pk) in chosen,
                "reason": self.group_refusals.get(pk, ""),
            }
            for pk, name in self.fields["groups"].queryset.values_list("pk", "name")
        ]
        return sorted(options, key=lambda option: not option["checked"])  # stable: by name

    def group_picker(self) -> str:
        """The group checkboxes as HTML, built here with the standard library's escaping:
        a widget template per option (Django's CheckboxSelectMultiple) cost about four
        thousand template includes and most of the page's time at a thousand groups; a
        template loop still took a third of it. A filter box above the list, shown by
        ``static/js/settings.js``, narrows it; without JavaScript the list scrolls."""
        field = self["groups"]
        prefix = escape(field.auto_id)
        input_name = escape(field.html_name)
        rows = []
        for index, option in enumerate(self.group_options()):
            ident = f"{prefix}_{index}"
            # escaping commutes with casefold (the entities are lower-case ASCII already)
            name = escape(option["name"])
            state = " checked" if option["checked"] else ""
            reason = ""
            if option["reason"]:
                state += f' disabled aria-describedby="{ident}_reason"'
                reason = (
                    f'<div class="help group-option__reason" id="{ident}_reason">'
                    f"Not available to you: it {escape(option['reason'])}.</div>"
                )
            rows.append(
                f'<div class="group-option{" group-option--disabled" if reason else ""}"'
                f' data-filter-text="{name.casefold()}">'
                f'<label for="{ident}"><input type="checkbox" name="{input_name}"'
                f' value="{option["pk"]}" id="{ident}"{state}> {name}</label>{reason}</div>'
            )
        if not rows:
            return mark_safe('<p class="muted">No groups yet.</p>')
        return mark_safe(  # noqa: S308 (every name, reason and attribute escaped above)
            f'<div class="group-filter" data-group-filter hidden>'
            f'<label for="{prefix}_filter">Filter groups</label> '
            f'<input type="search" id="{prefix}_filter" autocomplete="off"'
            f' placeholder="Part of a name" aria-controls="{prefix}_options">'
            f' <span class="muted small" data-group-filter-count aria-live="polite"></span></div>'
            f'<div class="group-options" id="{prefix}_options">{"".join(rows)}</div>'
        )

    @property
    def is_self(self) -> bool:
        return self.instance is not None and self.instance.pk == self.actor.pk

    def clean_email(self) -> str:
        # The one canonical form (accounts.identity): look-alikes are refused here, by name.
        return canonical_email(self.cleaned_data["email"])

    def clean_ip_whitelist(self) -> list[str]:
        lines = whitelist_lines(self.cleaned_data["ip_whitelist"])
        self.whitelist_entries = parse_whitelist(lines)  # every bad line, or nothing
        return [entry.entry for entry in self.whitelist_entries]

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if bool(first) != bool(second) and "password1" in self.fields:
            self.add_error("password2", PASSWORDS_DIFFER)
        elif first and second:
            if first != second:
                self.add_error("password2", PASSWORDS_DIFFER)
            else:
                candidate = User(email=cleaned.get("email") or "", name=cleaned.get("name") or "")
                try:
                    password_validation.validate_password(first, candidate)
                except forms.ValidationError as error:
                    self.add_error("password1", error)
        self._check_lockout(cleaned)
        return cleaned

    def _check_lockout(self, cleaned) -> None:
        """Saving a whitelist for yourself that excludes your own address asks first."""
        if not self.is_self or "ip_whitelist" not in cleaned:
            return
        entries = getattr(self, "whitelist_entries", [])
        if typed_entries(self.instance.ip_whitelist) == cleaned["ip_whitelist"]:
            return
        if ip_allowed(self.client_address, stored_whitelist(entries)):
            return
        if cleaned.get("confirm_lockout"):
            return
        self.lockout_warning = LOCKOUT_WARNING.format(address=self.client_address or "unknown")
        self.add_error("confirm_lockout", self.lockout_warning)

    def service_kwargs(self) -> dict:
        """The cleaned values the user services take (only fields this form has)."""
        names = (
            "name",
            "email",
            "role",
            "groups",
            "reseller",
            "timezone",
            "ip_whitelist",
            "sso_only",
        )
        kwargs = {name: self.cleaned_data[name] for name in names if name in self.fields}
        kwargs["shared_ticket"] = self.cleaned_data["shared_ticket"]
        if "password1" in self.fields:
            # Empty: the user is created without a usable password and invited.
            kwargs["password"] = self.cleaned_data["password1"] or None
        if "updated_at" in self.fields:
            kwargs["expected_updated_at"] = self.cleaned_data["updated_at"]
        return kwargs


class UserPasswordForm(SetPasswordForm):
    """Set another user's password: new password twice, no current password; the
    configured validators apply (Django's SetPasswordForm runs them for this user)."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        for name in ("new_password1", "new_password2"):
            _password_widget(self.fields[name])
            self.fields[name].help_text = ""


# --- The users list's filters ------------------------------------------------------------

SEARCH_MAX_LENGTH = 100
FILTER_ERRORS = {
    "role": "“%(value)s” is not a role; choose Administrator or User.",
    "status": "“%(value)s” is not a status; choose active, invited, deactivated or locked.",
    "group": "There is no group “%(value)s”; it may have been deleted.",
    "reseller": "“%(value)s” is not one of the resellers whose users you see.",
    "sort": (
        "“%(value)s” is not a sort; sort by name, email or last_login, with a minus sign "
        "for the reverse order (e.g. -last_login)."
    ),
}
BAD_PAGE_LINK = "This page link is not valid for this sort; the first page is shown instead."


class UserListFilterForm(KeysetPageForm):
    """The users list's search, filters and sort, read from the query string (so a list
    can be bookmarked). A value that is not understood is named and ignored; the others
    still apply."""

    q = forms.CharField(label="Search", required=False, max_length=SEARCH_MAX_LENGTH)
    role = forms.ChoiceField(label="Role", required=False, choices=[("", "Any role")])
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status")])
    group = forms.CharField(label="Group", required=False, max_length=20)
    # Checked against the actor's resellers in clean_reseller: 200 of them as a
    # ChoiceField's choices were normalised twice a request (field and widget).
    reseller = forms.CharField(label="Reseller", required=False, max_length=40)
    sort = forms.ChoiceField(label="Sort", required=False)
    # The page (after, before, last: KeysetPageForm's), its cursors those of the sort's order.
    bad_page_link = BAD_PAGE_LINK
    field_order = ("q", "role", "status", "group", "reseller", "sort", "after", "before", "last")

    def __init__(self, data, *, actor):
        super().__init__(data)
        self.fields["role"].choices += Role.choices
        self.fields["status"].choices += STATUS_CHOICES
        self.fields["sort"].choices = [(key, key) for key in SORTS]
        # ids and names only: 200 resellers as model instances cost more than the rest of
        # the form (measured on the users list at 100,000 users)
        names = list(reseller_filter_choices(actor).values_list("pk", "name"))
        self.resellers = {str(pk): pk for pk, _ in names}
        reseller_choices = [("", "Any reseller")]
        self.actor_sees_every_reseller = actor.reseller_id is None
        if actor.reseller_id is None:
            reseller_choices.append((NO_RESELLER, "No reseller"))
        reseller_choices += [(str(pk), name) for pk, name in names]
        self.reseller_choices = reseller_choices
        for name, message in FILTER_ERRORS.items():
            self.fields[name].error_messages["invalid_choice"] = message
        self.fields["reseller"].error_messages["max_length"] = FILTER_ERRORS["reseller"] % {
            "value": (data or {}).get("reseller", "")[:40]
        }
        self.fields["group"].error_messages["max_length"] = FILTER_ERRORS["group"] % {
            "value": (data or {}).get("group", "")[:40]
        }
        self.fields["q"].error_messages["max_length"] = (
            f"Search for at most {SEARCH_MAX_LENGTH} characters."
        )

    def clean_reseller(self) -> str:
        value = self.cleaned_data["reseller"]
        if (
            value
            and value not in self.resellers
            and not (value == NO_RESELLER and self.actor_sees_every_reseller)
        ):
            raise forms.ValidationError(FILTER_ERRORS["reseller"], params={"value": value})
        return value

    def clean_group(self) -> Group | None:
        """The group itself: one query by id (the choices are not listed up front, there
        may be a thousand groups)."""
        value = self.cleaned_data["group"].strip()
        if not value:
            return None
        # ids only: a bigger number than any id would be an error on PostgreSQL
        group = None
        if value.isdigit() and len(value) <= 18:
            group = Group.objects.filter(pk=int(value)).first()
        if group is None:
            raise forms.ValidationError(FILTER_ERRORS["group"], params={"value": value})
        return group

    def seek_for(self, cleaned: dict):
        """A cursor must be one the list's sort writes (a link from another sort, or
        edited by hand, is named and the first page shown)."""
        return SORTS[cleaned.get("sort") or DEFAULT_SORT]

    def applied(self) -> dict:
        """The values to list by: each valid one, the default for each that is not."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if value}
        reseller = data.get("reseller")
        return {
            "search": (data.get("q") or "").strip(),
            "role": data.get("role", ""),
            "status": data.get("status", ""),
            "group": data.get("group"),
            "reseller": self.resellers.get(reseller, reseller) if reseller else None,
            "sort": data.get("sort") or DEFAULT_SORT,
        }

    def query(self, **changes) -> dict:
        """The query string parameters of the list as applied, with ``changes`` (a value
        of None drops that parameter): for sort links, paging and bookmarks."""
        self.is_valid()
        params = {}
        for name in ("q", "role", "status", "group", "reseller", "sort"):
            value = self.cleaned_data.get(name)
            if name == "group" and value is not None:
                value = value.pk
            if name == "q":
                value = (value or "").strip()
            if value not in (None, "") and not (name == "sort" and value == DEFAULT_SORT):
                params[name] = value
        for name, value in changes.items():
            if value is None or (name == "sort" and value == DEFAULT_SORT):
                params.pop(name, None)
            else:
                params[name] = value
        return params
