"""Forms for groups and rules. They only clean input: the services decide."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from .areas import ACTIONS, all_areas
from .models import Effect, Group

ACCESS_REQUIRED = "Choose at least one of create, read, update, delete."
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
    """One row of the "Add Group Permission" table (also used for a user's own rules)."""

    area = forms.ChoiceField(choices=area_choices)
    access = forms.MultipleChoiceField(
        choices=action_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": ACCESS_REQUIRED},
    )
    effect = forms.ChoiceField(
        choices=Effect.choices, initial=Effect.ALLOW, widget=forms.RadioSelect
    )


class RuleAccessForm(forms.Form):
    """Edit a rule's access; its area and effect stay (delete and add to change them)."""

    access = forms.MultipleChoiceField(
        choices=action_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": ACCESS_REQUIRED},
    )
    expected_actions = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, rule, **kwargs):
        kwargs.setdefault("initial", {"access": rule.action_list, "expected_actions": rule.actions})
        super().__init__(*args, **kwargs)


class WhatIfForm(forms.Form):
    """Choose groups for a user and see the grid before saving (GET, nothing written)."""

    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
