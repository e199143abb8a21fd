"""Form helpers every app's pages share: a service's refusal shown on its form, the hidden
version field for optimistic concurrency, a date input."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

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


BAD_PAGE_LINK = "This page link is not valid; the first page is shown instead."


class KeysetPageForm(forms.Form):
    """Which page of a keyset-paged list (``controlpanel.kit.keyset``) the query string
    asks for: the rows after or before a cursor, or the last page. A cursor the list's
    order did not write is named among the errors (``bad_page_link``) and the first page
    shown. A list whose order depends on the other fields (a sort) overrides ``seek_for``."""

    bad_page_link = BAD_PAGE_LINK

    after = forms.CharField(label="Page", required=False, max_length=400)
    before = forms.CharField(label="Page", required=False, max_length=400)
    last = forms.BooleanField(label="Page", required=False)

    def __init__(self, data, *, seek=None, **kwargs):
        super().__init__(data, **kwargs)
        self.seek = seek
        for name in ("after", "before"):
            self.fields[name].error_messages["max_length"] = self.bad_page_link

    def seek_for(self, cleaned: dict):
        """The order whose cursors this page's links carry."""
        return self.seek

    def clean(self):
        cleaned = super().clean()
        seek = self.seek_for(cleaned)
        for name in ("after", "before"):
            if cleaned.get(name):
                try:
                    seek.read_cursor(cleaned[name])
                except ValueError:
                    self.add_error(name, self.bad_page_link)
        return cleaned

    def page(self) -> dict:
        """``KeysetPage``'s keyword arguments: ``after``, ``before`` and ``last``."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "after": data.get("after") or "",
            "before": "" if data.get("after") else data.get("before") or "",
            "last": bool(data.get("last")) and not (data.get("after") or data.get("before")),
        }
