"""Refusals: the one way a request is refused and the one way a refusal is audited.

Whoever refuses (the access middleware before a view runs, an API token, or a service
inside a view: no escalation, administrators, the last administrator), the refusal goes
through this module and leaves one audit entry per request:

- ``refuse`` answers 403 with a page for the panel, JSON for the API, naming the area and
  action that were lacking; ``forbidden`` only draws that answer.
- ``call_service`` runs a service for a request; a refusal it raises is audited and
  handed back for the view to show (``call_service_on_form`` puts it on the form; the
  API turns it into its JSON error).
- ``audit_unrecorded_refusal``: the access middleware's last word on every response, so a
  403 produced any other way (CSRF, DRF, a view of tomorrow) is audited too.

No refusal shows the refused data: the answer carries the reason, area and action only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render

from controlpanel.kit.areas import ACTIONS, get_area, is_area
from controlpanel.kit.client_ip import client_ip

from . import log as audit

API_PREFIX = "/api/cp/"
NOT_PERMITTED = "You may not make this change."
# Service refusals about the record's state (a 409, not a 403). The last administrator is
# also a refusal of the request, audited like the others (ACCESS_MODEL.md, Requests).
CONFLICT_CODES = frozenset({"stale", "last", "state"})
REFUSAL_CODES = frozenset({"last"})
_RECORDED = "_refusal_recorded"


def wants_json(request) -> bool:
    """The JSON API answers in JSON; the human API docs page (/api/docs) is a page."""
    return request.path.startswith(API_PREFIX)


def _standing(request, area: str | None, action: str | None) -> tuple[bool, tuple[str, ...]]:
    """Whether the user holds the refused action, and the resolver's reasons when not.

    A refusal of an action they hold comes from a rule of the panel about this one change
    (an administrator's account, a grant beyond their own); one they do not hold is
    explained as the effective-permission grid explains it (a missing grant, or a deny
    rule that no grant can outweigh)."""
    access = getattr(request, "access", None)
    if access is None or not area or not is_area(area) or action not in ACTIONS:
        return False, ()
    if access.can(area, action):
        return True, ()
    return False, access.explain(area, action).reasons


def _label(area: str | None) -> str | None:
    return get_area(area).label if area and is_area(area) else None


def refusal_reason(area: str | None, action: str | None) -> str:
    label = _label(area)
    if label and action:
        return f"You do not have permission to {action} in {label}."
    return "You do not have permission to open this page."


def forbidden(request, *, area: str | None, action: str | None, reason: str = ""):
    """The refusal page (or JSON body). Call ``refuse`` instead: it also audits."""
    label = _label(area)
    reason = reason or refusal_reason(area, action)
    if wants_json(request):
        return JsonResponse({"detail": reason, "area": area, "action": action}, status=403)
    held, why = _standing(request, area, action)
    return render(
        request,
        "403.html",
        {
            "area_label": label,
            "area": area,
            "action": action,
            "reason": reason,
            "held": held,
            "why": why,
        },
        status=403,
    )


def _http_request(request):
    """The Django request under a DRF ``Request``."""
    return getattr(request, "_request", request)


def declared_access(request) -> tuple[str | None, str | None]:
    """The area and action the access middleware checked for this request, if any."""
    return getattr(_http_request(request), "declared_access", (None, None))


def record_refusal(
    request,
    *,
    area: str | None,
    action: str | None,
    reason: str,
    audit_action: str = audit.Action.REFUSED,
    actor=None,
    obj=None,
    message: str = "",
) -> None:
    """Audit that ``request`` was refused: one entry per request, the first refusal's."""
    http = _http_request(request)
    if getattr(http, _RECORDED, False):
        return
    setattr(http, _RECORDED, True)
    actor = actor if actor is not None else getattr(http, "user", None)
    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    what = f" ({action} on {area})" if area and action else ""
    audit.record(
        audit_action,
        actor=actor,
        actor_label="" if signed_in else "anonymous",
        address=client_ip(http),
        obj=obj,
        object_type="" if obj is not None else ("area" if area else "url"),
        object_id="" if obj is not None else (area or http.path[:64]),
        message=message or f"Refused {http.method} {http.path}{what}: {reason}",
    )


def refuse(
    request,
    *,
    area: str | None,
    action: str | None,
    reason: str = "",
    **audit_details,
):
    """Refuse ``request``: audit it (``record_refusal``) and answer with ``forbidden``."""
    reason = reason or refusal_reason(area, action)
    record_refusal(request, area=area, action=action, reason=reason, **audit_details)
    return forbidden(request, area=area, action=action, reason=reason)


ADDRESS_REFUSED = "Your address is not allowed for this account. You have been signed out."


def refuse_address(request, user, address: str | None):
    """The client address may not use ``user``'s account (``ipwhitelist.ip_allowed`` said
    so): audit it, end the session, answer 403. The same for a page, a public page, an
    API call with the session or with a token."""
    record_refusal(
        request,
        area=None,
        action=None,
        reason=ADDRESS_REFUSED,
        audit_action=audit.Action.WHITELIST_BLOCK,
        actor=user,
        obj=user,
        message=(
            f"Address {address} not whitelisted; session ended."
            if address
            else "Client address could not be determined; session ended."
        ),
    )
    logout(request)
    return forbidden(request, area=None, action=None, reason=ADDRESS_REFUSED)


def method_not_allowed(request, allowed) -> HttpResponseNotAllowed:
    """405 for a method the URL pattern's declaration does not accept, with ``Allow``."""
    response = HttpResponseNotAllowed(list(allowed))
    if wants_json(request):
        response.content = json.dumps({"detail": f"Method {request.method} not allowed."})
        response["Content-Type"] = "application/json"
    return response


def _error_codes(error: ValidationError) -> set:
    if hasattr(error, "error_dict"):
        errors = [e for group in error.error_dict.values() for e in group]
    else:
        errors = error.error_list
    return {getattr(e, "code", None) for e in errors}


@dataclass(frozen=True)
class ServiceOutcome:
    """What a service call came to: its value, or the error it raised."""

    value: Any = None
    error: PermissionDenied | ValidationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def refused(self) -> bool:
        """Refused by a rule about who may do it (audited), not by the input."""
        return isinstance(self.error, PermissionDenied) or bool(
            isinstance(self.error, ValidationError) and _error_codes(self.error) & REFUSAL_CODES
        )

    @property
    def conflict(self) -> bool:
        """Refused by the record's state: the last administrator, a stale form."""
        return isinstance(self.error, ValidationError) and bool(
            _error_codes(self.error) & CONFLICT_CODES
        )

    @property
    def status(self) -> int:
        """A page's status: 403 refused, 409 conflict, 200 (the form shows its errors)."""
        if isinstance(self.error, PermissionDenied):
            return 403
        return 409 if self.conflict else 200

    @property
    def message(self) -> str:
        if isinstance(self.error, ValidationError):
            return " ".join(self.error.messages)
        return str(self.error or "") or NOT_PERMITTED


def call_service(
    request,
    call: Callable[[], Any],
    *,
    area: str | None = None,
    action: str | None = None,
) -> ServiceOutcome:
    """Run ``call`` (a service) for ``request``. A refusal (PermissionDenied, or the last
    administrator) is audited against ``area`` and ``action``, by default those the
    middleware checked; every error comes back in the outcome for the view to show."""
    try:
        return ServiceOutcome(call())
    except (PermissionDenied, ValidationError) as error:
        outcome = ServiceOutcome(error=error)
    if outcome.refused:
        declared_area, declared_action = declared_access(request)
        record_refusal(
            request,
            area=area or declared_area,
            action=action or declared_action,
            reason=outcome.message,
        )
    return outcome


def call_service_on_form(request, form, call, field_map=None):
    """``call_service`` for a form page: ``(value, 200)``, or ``(None, status)`` with the
    service's reason on the form (403 refused, 409 conflict, 200 bad input)."""
    from controlpanel.kit.forms import add_service_error

    outcome = call_service(request, call)
    if outcome.ok:
        return outcome.value, 200
    add_service_error(form, outcome.error, field_map)
    return None, outcome.status


def _detail_of(response) -> dict:
    """The JSON body of a refusal (DRF's ``data``, or a JsonResponse), else ``{}``."""
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        return data
    if not isinstance(response, JsonResponse):
        return {}
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def audit_unrecorded_refusal(request, response) -> None:
    """A 403 that reached the access middleware without being audited is audited here,
    with the reason its body gives, so no way of refusing can skip the audit log."""
    if response.status_code != 403 or getattr(_http_request(request), _RECORDED, False):
        return
    body = _detail_of(response)
    area, action = declared_access(request)
    if "area" in body:
        area, action = body.get("area"), body.get("action")
    reason = str(body.get("detail") or "") or f"answered 403 ({response.reason_phrase})."
    record_refusal(request, area=area, action=action, reason=reason)
