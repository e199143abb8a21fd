"""Choice widgets that write the markup of Django's own, without a template per option.

Django renders a ``RadioSelect`` or ``CheckboxSelectMultiple`` through four templates
per option (``multiple_input``, ``input_option``, ``input``, ``attrs``). The add-rule
form (13 areas, 4 actions, 2 effects) took about 11 ms that way on the group page, more
than the rest of the page's work; written here it takes a fraction of a millisecond. The
markup is byte for byte Django's (``tests/test_kit_widgets.py`` compares them), so the
forms, the styles and the browser tests see no difference."""

from __future__ import annotations

from html import escape

from django import forms
from django.utils.safestring import mark_safe


def _text(value) -> str:
    return escape(str(value))


def _attrs(attrs: dict) -> str:
    """``attrs.html``: ``name="value"``, a bare ``name`` for True, nothing for False."""
    return "".join(
        f" {name}" if value is True else f' {name}="{_text(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _option(option: dict) -> str:
    """``radio_option.html`` / ``checkbox_option.html``: ``input_option.html`` with
    ``input.html`` inside, each template's closing newline included."""
    value = "" if option["value"] is None else f' value="{_text(option["value"])}"'
    html = (
        f'<input type="{_text(option["type"])}" name="{_text(option["name"])}"'
        f"{value}{_attrs(option['attrs'])}>\n"
    )
    if option.get("wrap_label"):
        identifier = option["attrs"].get("id")
        label_for = f' for="{_text(identifier)}"' if identifier else ""
        html = f"<label{label_for}>{html} {_text(option['label'])}</label>"
    return html + "\n\n"


class PythonRenderedChoices:
    """Mixin for Django's multiple-input choice widgets: ``multiple_input.html`` in Python."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
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
                parts.append(f"<div>\n    {_option(option)}</div>")
            if group:
                parts.append("\n  </div>")
        parts.append("\n</div>")
        return mark_safe("".join(parts))  # noqa: S308 (every value escaped above)


class RadioSelect(PythonRenderedChoices, forms.RadioSelect):
    pass


class CheckboxSelectMultiple(PythonRenderedChoices, forms.CheckboxSelectMultiple):
    pass
