"""The kit's choice widgets write exactly the markup of Django's templates."""

from unittest import mock

import pytest
from django import forms

from controlpanel.kit import widgets
from permissions.forms import GroupForm, RuleEditForm, RuleForm
from permissions.models import Rule


def kit_and_django(field: forms.BoundField) -> tuple[str, str]:
    """The field as the kit writes it, and as Django's own templates would."""
    kit = str(field)
    with mock.patch.object(widgets.PythonRenderedChoices, "render", forms.Widget.render):
        stock = str(field)
    return kit, stock


class Sample(forms.Form):
    plain = forms.ChoiceField(
        choices=[("a", "A & <b>"), ("b", 'B "quoted"')],
        initial="b",
        widget=widgets.RadioSelect,
    )
    many = forms.MultipleChoiceField(
        choices=[("x", "X"), ("Group <1>", [("y", "Y"), ("z", "Z")])],
        required=False,
        widget=widgets.CheckboxSelectMultiple,
    )
    styled = forms.TypedChoiceField(
        choices=[(1, "one"), (2, "two")],
        coerce=int,
        widget=widgets.RadioSelect(attrs={"class": "inline", "disabled": True, "data-x": False}),
    )
    unnamed = forms.ChoiceField(choices=[("q", "Q")], widget=widgets.RadioSelect)


@pytest.mark.parametrize(
    "data", [None, {"plain": "a", "many": ["y", "x"], "styled": "2"}, {"many": ["nope"]}]
)
def test_sample_widgets_match_django(data):
    form = Sample(data, auto_id=False) if data == {"many": ["nope"]} else Sample(data)
    form.is_bound and form.is_valid()
    for field in form:
        kit, stock = kit_and_django(field)
        assert kit == stock, field.name


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        RuleForm,
        GroupForm,
        lambda: RuleEditForm(rule=Rule(area="routing", actions=3, effect="deny")),
        lambda: RuleForm({"area": ["routing", "nope"], "effect": "deny"}),
    ],
)
def test_the_panels_forms_render_as_django_would(make):
    form = make()
    form.is_bound and form.is_valid()
    checked = 0
    for field in form:
        if isinstance(field.field.widget, widgets.PythonRenderedChoices):
            kit, stock = kit_and_django(field)
            assert kit == stock, field.name
            checked += 1
    assert checked
