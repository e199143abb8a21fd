"""Forms for groups and rules. They only clean input: the services decide."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.http import urlencode

from .areas import ACTIONS, all_areas, is_area
from .models import Effect, Group

ACCESS_REQUIRED = "Choose at least one of create, read, update, delete."
AREAS_REQUIRED = "Choose at least one area."
VERSION_MISSING = "The form lost track of which version you opened; reload the page."


class VersionField(forms.CharField):
    """A hidden field holding the ``updated_at`` a form was rendered with (ISO 8601, full
    precision), for optimistic concurrency in the services."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"required": VERSION_MISSING})
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value.isoformat() if isinstance(value, datetime.datetime) else value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(VERSION_MISSING) from None
        if parsed.tzinfo is None:
            raise ValidationError(VERSION_MISSING)
        return parsed


def action_choices() -> list[tuple[str, str]]:
    return [(action, action.capitalize()) for action in ACTIONS]


def area_choices() -> list[tuple[str, str]]:
    return [(area.key, f"{area.label} ({area.api_path})") for area in all_areas()]


def add_service_error(form: forms.Form, error: Exception, field_map: dict | None = None):
    """Show a service's refusal on the form, on the field it names when the form has it."""
    field_map = field_map or {}
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or "You may not make this change.")
        return
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            name = field_map.get(field, field)
            target = name if name in form.fields else None
            for message in errors:
                if target is None and field != "__all__":
                    form.add_error(None, f"{field.replace('_', ' ').capitalize()}: {message}")
                else:
                    form.add_error(target, message)
        return
    form.add_error(None, error)


class GroupForm(forms.Form):
    name = forms.CharField(max_length=150)
    defaults = forms.MultipleChoiceField(
        label="Default permissions",
        choices=action_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=(
            "Granted on every area while the group has no allow rule. Adding an allow rule "
            "makes the group granular and nullifies these."
        ),
    )
    updated_at = VersionField()

    def __init__(self, *args, instance: Group | None = None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "defaults": instance.default_actions,
                    "updated_at": instance.updated_at,
                },
            )
        else:
            kwargs.setdefault("initial", {"defaults": list(ACTIONS)})
        super().__init__(*args, **kwargs)
        if instance is None:
            del self.fields["updated_at"]


class RuleForm(forms.Form):
    """One "Add" of the "Add Group Permission" table (also used for a user's own rules):
    the same access and effect on one or more areas."""

    area = forms.MultipleChoiceField(
        choices=area_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": AREAS_REQUIRED},
        help_text="Tick one or more: each area gets a rule with this access and effect.",
    )
    access = forms.MultipleChoiceField(
        choices=action_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": ACCESS_REQUIRED},
    )
    effect = forms.ChoiceField(
        choices=Effect.choices, initial=Effect.ALLOW, widget=forms.RadioSelect
    )

    @classmethod
    def keeping(cls, query) -> RuleForm:
        """An empty form with the choices of the previous add ticked again (they come back
        in the query string, see ``kept_choices``), so similar rules are quick to add in a
        row. Anything unknown in the query is dropped."""
        effect = query.get("effect")
        return cls(
            initial={
                "area": [key for key in query.getlist("area") if is_area(key)],
                "access": [action for action in query.getlist("access") if action in ACTIONS],
                "effect": effect if effect in Effect.values else Effect.ALLOW,
            }
        )

    def kept_choices(self) -> str:
        """The cleaned choices as a query string, for the page shown after the add."""
        return urlencode(
            {
                "area": self.cleaned_data["area"],
                "access": self.cleaned_data["access"],
                "effect": self.cleaned_data["effect"],
            },
            doseq=True,
        )


class RuleEditForm(forms.Form):
    """Edit one rule: its area, access and effect. The hidden ``expected_*`` fields hold
    the rule as the form was rendered, so a change made meanwhile is not overwritten. An
    area or effect left out of the submission keeps its value."""

    area = forms.ChoiceField(choices=area_choices, required=False)
    access = forms.MultipleChoiceField(
        choices=action_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": ACCESS_REQUIRED},
    )
    effect = forms.ChoiceField(choices=Effect.choices, widget=forms.RadioSelect, required=False)
    expected_actions = forms.IntegerField(widget=forms.HiddenInput)
    expected_area = forms.CharField(widget=forms.HiddenInput, required=False)
    expected_effect = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, rule, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "area": rule.area,
                "access": rule.action_list,
                "effect": rule.effect,
                "expected_actions": rule.actions,
                "expected_area": rule.area,
                "expected_effect": rule.effect,
            },
        )
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        """``rule_update``'s arguments: an area or effect not submitted stays unchanged."""
        data = self.cleaned_data
        kwargs = {
            "actions": data["access"],
            "expected_actions": data["expected_actions"],
            "expected_area": data["expected_area"] or None,
            "expected_effect": data["expected_effect"] or None,
        }
        if data["area"]:
            kwargs["area"] = data["area"]
        if data["effect"]:
            kwargs["effect"] = data["effect"]
        return kwargs


class WhatIfForm(forms.Form):
    """Choose groups for a user and see the grid before saving (GET, nothing written)."""

    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
