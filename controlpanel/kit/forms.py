"""Form helpers every app's pages share: a service's refusal shown on its form, the hidden
version field for optimistic concurrency, a date input."""

from __future__ import annotations

import datetime
from html import escape

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe

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


class PlainSelect(forms.Select):
    """A select whose options are written here with the standard library's escaping, not
    with Django's template per option: a couple of hundred options (the resellers on the
    user form) cost most of a page's time that way. The same markup; option groups fall
    back to Django's rendering."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = []
        for option_value, label in self.choices:  # once: a model field's choices query
            if isinstance(label, (list, tuple)):
                return super().render(name, value, attrs, renderer)
            option_value = "" if option_value is None else str(option_value)
            selected = option_value in chosen
            if selected and not self.allow_multiple_selected:
                chosen = set()  # only the first match is selected, as Django does
            options.append(
                f'<option value="{escape(option_value)}"{" selected" if selected else ""}>'
                f"{escape(str(label))}</option>"
            )
        attrs = self.build_attrs(self.attrs, attrs)
        return mark_safe(  # noqa: S308 (flatatt escapes the attributes; the options above)
            f'<select name="{escape(name)}"{flatatt(attrs)}>{"".join(options)}</select>'
        )


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


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def add_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: under its field when the form has
    that field, else at the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)
