"""The API's errors, one shape for all (docs/api.md).

Every error body has ``detail``, a sentence. A 400 adds ``errors``: ``{"field":
["message", …]}``, with ``non_field_errors`` for what concerns the whole record. A 403
adds ``area`` and ``action`` (null when the refusal is not about an area, e.g. a missing
CSRF token). Services' refusals keep their own words: an escalation attempt is a 403 with
the service's reason, a record that changed meanwhile or the last administrator is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from controlpanel.audit.refusals import NOT_PERMITTED, call_service

INVALID_INPUT = "The request has errors; see “errors”."
NON_FIELD = "non_field_errors"

T = TypeVar("T")


class Refused(exceptions.APIException):
    """403 naming the area and action, with the reason a service gave."""

    status_code = status.HTTP_403_FORBIDDEN
    default_detail = NOT_PERMITTED

    def __init__(self, detail: str, *, area: str | None, action: str | None):
        super().__init__(detail or NOT_PERMITTED)
        self.area, self.action = area, action


class Conflict(exceptions.APIException):
    """409: the request was fine, the record's state refuses it (nothing was saved)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record's current state does not allow this change."


def field_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as ``{"field": [messages]}``."""
    if hasattr(error, "error_dict"):
        return {
            (NON_FIELD if name == "__all__" else name): [str(m) for m in DjangoValidationError(e)]
            for name, e in error.error_dict.items()
        }
    return {NON_FIELD: [str(message) for message in error.messages]}


def form_errors(form) -> dict[str, list[str]]:
    return {
        (NON_FIELD if name == "__all__" else name): [str(message) for message in messages]
        for name, messages in form.errors.items()
    }


def run_service(
    request, call: Callable[[], T], *, area: str, action: str, conflict: bool = False
) -> T:
    """Call a service through ``controlpanel.audit.refusals.call_service`` (which audits a
    refusal) and turn what it refused into API errors: not found (outside the actor's
    scope) 404, PermissionDenied 403 with its reason, ValidationError 400 with field
    errors, or 409 when it is about the record's state (``conflict`` makes every
    ValidationError a 409, e.g. a delete blocked by rows that still need the record)."""
    try:
        outcome = call_service(request, call, area=area, action=action)
    except ObjectDoesNotExist:
        raise exceptions.NotFound() from None
    if outcome.ok:
        return outcome.value
    if isinstance(outcome.error, DjangoPermissionDenied):
        raise Refused(outcome.message, area=area, action=action)
    if conflict or outcome.conflict:
        raise Conflict(outcome.message)
    raise exceptions.ValidationError(field_errors(outcome.error))


def _errors_of(data) -> dict:
    if isinstance(data, dict):
        return data
    return {NON_FIELD: data if isinstance(data, list) else [data]}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(field_errors(exc))
    elif isinstance(exc, DjangoPermissionDenied) and str(exc):
        exc = Refused(str(exc), area=None, action=None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": INVALID_INPUT, "errors": _errors_of(exc.detail)}
    elif response.status_code == status.HTTP_403_FORBIDDEN:
        response.data = {
            "detail": str(response.data.get("detail", NOT_PERMITTED)),
            "area": getattr(exc, "area", None),
            "action": getattr(exc, "action", None),
        }
    return response
