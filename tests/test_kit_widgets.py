"""The kit's form renderer writes exactly the markup of Django's widget templates."""

import importlib
import inspect
import pkgutil

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from controlpanel.kit.widgets import PythonWidgetRenderer

STOCK = DjangoTemplates()
OURS = PythonWidgetRenderer()


def both(field: forms.BoundField) -> tuple[str, str]:
    """The field as the kit writes it, and as Django's own templates would."""
    field.form.renderer = OURS
    ours = str(field)
    field.form.renderer = STOCK
    return ours, str(field)


class Sample(forms.Form):
    text = forms.CharField(initial='a & "b" <c>', widget=forms.TextInput(attrs={"maxlength": 9}))
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="s")
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)
    number = forms.IntegerField(min_value=1, initial=3)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    url = forms.URLField(required=False, assume_scheme="https")
    check = forms.BooleanField(required=False, initial=True)
    area = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), initial="x < y")
    empty_area = forms.CharField(widget=forms.Textarea, required=False)
    select = forms.ChoiceField(
        choices=[("", "Any"), ("a", "A & <b>"), ("Group <1>", [("y", "Y"), ("z", "Z")])],
        initial="y",
    )
    multiple = forms.MultipleChoiceField(
        choices=[(1, "one"), (2, "two")], required=False, initial=[2]
    )
    radio = forms.ChoiceField(
        choices=[("a", "A & <b>"), ("b", 'B "quoted"')],
        initial="b",
        widget=forms.RadioSelect(attrs={"class": "inline", "disabled": True, "data-x": False}),
    )
    boxes = forms.MultipleChoiceField(
        choices=[("x", "X"), ("Group", [("y", "Y"), ("z", "Z")])],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "t", "select": "a", "boxes": ["y", "x"], "radio": "a", "check": "on"},
        {"boxes": ["nope"], "number": "x", "multiple": ["1", "2"]},
    ],
)
@pytest.mark.parametrize("auto_id", ["id_%s", False])
def test_every_standard_widget_matches_django(data, auto_id):
    form = Sample(data, auto_id=auto_id)
    if data is not None:
        form.is_valid()
    for field in form:
        ours, stock = both(field)
        assert ours == stock, field.name


def panel_forms():
    """Every form class of the panel's apps that can be made without arguments."""
    found = {}
    for package in ("accounts", "permissions", "resellers", "controlpanel"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            # settings and server entry points configure, they hold no forms
            if any(part in info.name for part in (".migrations", ".settings", "sgi")):
                continue
            loaded = importlib.import_module(info.name)
            for _, value in inspect.getmembers(loaded, inspect.isclass):
                if issubclass(value, forms.BaseForm) and value.__module__ == info.name:
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


@pytest.mark.django_db
def test_the_panels_forms_render_as_django_would():
    rendered = 0
    for name, form_class in sorted(panel_forms().items()):
        try:
            form = form_class()
        except TypeError:
            continue  # needs an instance, an actor…: covered by the pages' own tests
        for field in form:
            ours, stock = both(field)
            assert ours == stock, f"{name}.{field.name}"
            rendered += 1
    assert rendered > 30


def test_the_panel_uses_the_renderer(settings):
    assert settings.FORM_RENDERER == "controlpanel.kit.widgets.PythonWidgetRenderer"


def test_time_tag_writes_what_the_date_filters_would(settings):
    import datetime

    from django.template import Context, Template
    from django.utils import timezone

    settings.USE_TZ = True
    moment = datetime.datetime(2026, 12, 1, 21, 30, 5, 123456, tzinfo=datetime.UTC)
    with timezone.override("Asia/Kolkata"):
        context = Context({"at": moment})
        stock = Template(
            """<time datetime="{{ at|date:'c' }}">{{ at|date:"Y-m-d H:i:s" }}</time>"""
        ).render(context)
        short = Template(
            """<time datetime="{{ at|date:'c' }}">{{ at|date:"Y-m-d H:i" }}</time>"""
        ).render(context)
        ours = Template("{% load kit_tags %}{{ at|time_tag }}").render(context)
        ours_short = Template("{% load kit_tags %}{{ at|time_tag:True }}").render(context)
    assert ours == stock and "2026-12-02 03:00:05" in ours
    assert ours_short == short
