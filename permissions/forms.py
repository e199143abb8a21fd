"""Forms for groups and rules. They only clean input: the services decide."""

from __future__ import annotations

from django import forms
from django.utils.http import urlencode

from controlpanel.kit.areas import ACTIONS, all_areas, is_area
from controlpanel.kit.forms import VERSION_MISSING, VersionField, add_service_error  # noqa: F401

from .models import Effect, Group

ACCESS_REQUIRED = "Choose at least one of create, read, update, delete."
AREAS_REQUIRED = "Choose at least one area."


def action_choices() -> list[tuple[str, str]]:
    return [(action, action.capitalize()) for action in ACTIONS]


def area_choices() -> list[tuple[str, str]]:
    return [(area.key, f"{area.label} ({area.api_path})") for area in all_areas()]


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
