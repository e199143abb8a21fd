"""Form widgets written in Python, with the markup of Django's own templates.

Django renders each widget through templates, and a choice widget through several per
option: a ``RadioSelect`` or ``CheckboxSelectMultiple`` through ``multiple_input``,
``input_option``, ``input`` and ``attrs``, a ``Select`` through ``select_option`` and
``attrs`` for each option. The add-rule form (13 areas, 4 actions, 2 effects) took about
11 ms that way on the group page, more than the rest of the page's work, and the audit
log's action filter (40 options) a good part of that page.

``PythonWidgetRenderer`` (``FORM_RENDERER``) writes the standard widgets' templates in
Python, byte for byte as Django's templates would (``tests/test_kit_widgets.py`` renders
every widget of the panel's forms both ways and compares them), and hands any other
template (a widget of the panel's own, a form layout) to Django's template renderer. No
form needs to know."""

from __future__ import annotations

from html import escape

from django.forms.renderers import DjangoTemplates

_WIDGETS = "django/forms/widgets/"


def _text(value) -> str:
    return escape(str(value))


def _attrs(attrs: dict) -> str:
    """``attrs.html``: ``name="value"``, a bare ``name`` for True, nothing for False."""
    return "".join(
        f" {name}" if value is True else f' {name}="{_text(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict) -> str:
    """``input.html`` (with its closing newline)."""
    value = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"'
        f"{value}{_attrs(widget['attrs'])}>\n"
    )


def _input_option(option: dict) -> str:
    """``radio_option.html`` / ``checkbox_option.html``: ``input_option.html`` with
    ``input.html`` inside, each template's closing newline included."""
    html = _input(option)
    if option.get("wrap_label"):
        identifier = option["attrs"].get("id")
        label_for = f' for="{_text(identifier)}"' if identifier else ""
        html = f"<label{label_for}>{html} {_text(option['label'])}</label>"
    return html + "\n\n"


def _multiple_input(widget: dict) -> str:
    """``multiple_input.html`` (radio buttons, checkboxes)."""
    identifier = widget["attrs"].get("id")
    css = widget["attrs"].get("class")
    parts = [
        "<div",
        f' id="{_text(identifier)}"' if identifier else "",
        f' class="{_text(css)}"' if css else "",
        ">",
    ]
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{_text(group)}</label>")
        for option in options:
            parts.append(f"<div>\n    {_input_option(option)}</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


def _select(widget: dict) -> str:
    """``select.html`` with ``select_option.html`` for each option."""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f'\n  <optgroup label="{_text(group)}">')
        for option in options:
            parts.append(
                f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea(widget: dict) -> str:
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


_WRITERS = {
    **{
        f"{_WIDGETS}{kind}.html": _input
        for kind in (
            "input",
            "text",
            "email",
            "password",
            "hidden",
            "number",
            "url",
            "search",
            "tel",
            "date",
            "datetime",
            "time",
            "color",
            "checkbox",
        )
    },
    f"{_WIDGETS}radio.html": _multiple_input,
    f"{_WIDGETS}checkbox_select.html": _multiple_input,
    f"{_WIDGETS}multiple_input.html": _multiple_input,
    f"{_WIDGETS}select.html": _select,
    f"{_WIDGETS}textarea.html": _textarea,
}


class PythonWidgetRenderer(DjangoTemplates):
    """Django's template renderer, except for the standard widgets' templates, which are
    written in Python. Like Django's renderer, the result is stripped of the outer
    whitespace."""

    def render(self, template_name, context, request=None):
        write = _WRITERS.get(template_name)
        if write is None or "widget" not in context:
            return super().render(template_name, context, request=request)
        return write(context["widget"]).strip()
