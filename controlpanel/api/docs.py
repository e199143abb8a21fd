"""``/api/docs``: the API described for people, from the same classes that serve it.

Each area's endpoints, which action each method needs, the fields a request may send and
a response carries, and the list filters, plus how to authenticate with a token. Any
signed-in user may read it (self-service); it shows which actions they hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe
from rest_framework import serializers

from controlpanel.kit.areas import get_area
from controlpanel.kit.declarations import API_METHOD_ACTIONS, self_service

from .registry import area_apis


@dataclass(frozen=True)
class FieldDoc:
    name: str
    kind: str
    required: bool
    notes: str


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    action: str
    what: str


def _related_model(field):
    if field.queryset is not None:
        return field.queryset.model
    parent_meta = getattr(getattr(field.parent, "Meta", None), "model", None)
    if parent_meta is None:
        return None
    try:
        return parent_meta._meta.get_field(field.source).related_model
    except FieldDoesNotExist:
        return None


def _kind(field) -> str:
    if isinstance(field, serializers.ManyRelatedField):
        return f"list of {_kind(field.child_relation)}s"
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        model = _related_model(field)
        return f"id of a {model._meta.verbose_name}" if model is not None else "id"
    if isinstance(field, serializers.ListSerializer):
        return f"list of {_kind(field.child)}"
    if isinstance(field, serializers.Serializer):
        return "{" + ", ".join(name for name in field.fields if name != "id") + "}"
    if isinstance(field, serializers.ListField):
        return f"list of {_kind(field.child)}"
    if isinstance(field, serializers.ChoiceField):
        return "one of " + ", ".join(str(choice) for choice in field.choices)
    if isinstance(field, serializers.DecimalField):
        return f"decimal as a string, {field.decimal_places} places"
    if isinstance(field, serializers.DateTimeField):
        return "date-time (ISO 8601)"
    if isinstance(field, serializers.DateField):
        return "date (YYYY-MM-DD)"
    if isinstance(field, serializers.BooleanField):
        return "true or false"
    if isinstance(field, serializers.IntegerField):
        return "integer"
    if isinstance(field, serializers.EmailField):
        return "e-mail address"
    if isinstance(field, serializers.CharField):
        return f"text, up to {field.max_length}" if field.max_length else "text"
    if isinstance(field, serializers.JSONField):
        return "JSON object"
    return "computed"


def _fields(serializer_class, *, writing: bool) -> list[FieldDoc]:
    if serializer_class is None:
        return []
    docs = []
    for name, field in serializer_class().fields.items():
        if writing and field.read_only:
            continue
        if not writing and field.write_only:
            continue
        notes = [str(field.help_text).rstrip(".") + "."] if field.help_text else []
        if writing and getattr(field, "allow_null", False):
            notes.append("May be null.")
        docs.append(FieldDoc(name, _kind(field), writing and field.required, " ".join(notes)))
    return docs


def _endpoints(api) -> list[Endpoint]:
    base = get_area(api.key).api_path
    rows = [("GET", base, "list, paginated and filtered")]
    if not api.read_only:
        rows.append(("POST", base, "create"))
    rows.append(("GET", f"{base}/<id>", "one record"))
    if not api.read_only:
        rows += [
            ("PUT", f"{base}/<id>", "change"),
            ("PATCH", f"{base}/<id>", "change some fields"),
            ("DELETE", f"{base}/<id>", "delete"),
        ]
    endpoints = [Endpoint(m, p, API_METHOD_ACTIONS[m], what) for m, p, what in rows]
    for child in api.children:
        declaration = child.viewset.access_declaration
        path = f"{base}/<id>/{child.slug}"
        endpoints += [
            Endpoint("GET", path, declaration.action_for("GET"), child.viewset.__doc__ or ""),
            Endpoint("POST", path, declaration.action_for("POST"), child.viewset.child.label),
        ]
    return endpoints


def _parameters(api) -> list[tuple[str, str]]:
    return [
        (parameter.name, parameter.description or "")
        for parameter in getattr(api.viewset, "query_parameters", ())
    ]


def area_docs(access) -> list[dict]:
    docs = []
    for api in area_apis().values():
        area = get_area(api.key)
        viewset = api.viewset
        docs.append(
            {
                "area": area,
                "read_only": api.read_only,
                "your_actions": access.actions(area.key),
                "endpoints": _endpoints(api),
                "input": _fields(getattr(viewset, "input_class", None), writing=True),
                "output": _fields(viewset.serializer_class, writing=False),
                "parameters": _parameters(api),
                "children": [
                    {
                        "slug": child.slug,
                        "input": _fields(child.viewset.input_class, writing=True),
                        "output": _fields(child.viewset.serializer_class, writing=False),
                    }
                    for child in api.children
                ],
            }
        )
    return docs


@self_service
@require_safe
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "api/docs.html",
        {
            "areas": area_docs(request.access),
            "example_url": request.build_absolute_uri(get_area("customer").api_path),
            "schema_url": request.build_absolute_uri(reverse("api:schema")),
            "tokens_url": reverse("tokens:list"),
        },
    )
