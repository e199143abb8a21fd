"""The business areas (and resellers) over the API, built from their ``AreaDefinition``.

One generic serializer pair and one generic viewset serve every area; ``area_api``
builds the classes for one definition. Nothing here is written per area:

- **Rows** come from ``definition.rows(user)`` (``resellers.selectors.scoped``): a row
  outside the user's scope answers 404, exactly as its page does.
- **Input** is validated by the area's own form (the one its pages use), built for the
  signed-in user: related rows are chosen from the same scoped querysets (another
  reseller's customer is a field error), a reseller's user cannot set the reseller (their
  own is set), and the model's ``full_clean`` runs. The serializer in front of the form
  only checks JSON types and describes the fields for the schema.
- **Writes** go through the definition's services (``area_record_create`` / ``_update``
  / ``_delete``, ``reseller_delete``, ``payment_create``, ``ticket_reply_create``), so
  the API can do nothing the pages cannot, and every write is audited the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, get_type_hints

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from accounts.api_tokens import READ_METHODS
from controlpanel.areas.listing import SEARCH_MAX_LENGTH, search
from controlpanel.areas.registry import AreaDefinition, ChildForm, Related
from controlpanel.kit.areas import ACTIONS
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import AreaByMethod
from resellers.selectors import scoped

from .errors import form_errors, run_service

MAX_PAGE_SIZE = 100
BOOLEAN_CHOICES = [("true", "true"), ("false", "false")]


@dataclass(frozen=True)
class ChildRowsByMethod(AreaByMethod):
    """Rows added from a parent's page (payments, ticket replies). Reading them is
    ``read`` on the area; adding one (POST) needs the action the panel's own form needs
    (``create`` for a payment, ``update`` for a ticket reply: a reply changes the
    ticket). Other methods have no action: the view answers 405."""

    write_action: str = "create"

    def __post_init__(self):
        if self.write_action not in ACTIONS:
            raise ValueError(f"Unknown action {self.write_action!r}.")

    def action_for(self, method: str) -> str | None:
        method = method.upper()
        if method == "POST":
            return self.write_action
        return super().action_for(method) if method in READ_METHODS else None


def needs(action: str, area: str) -> str:
    """An operation's description: the permission it needs."""
    return f"Needs **{action}** on `{area}`."


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("_", "-").split("-"))


# --- Serializers -------------------------------------------------------------------------


def _fact_field(model: type[models.Model], name: str) -> serializers.Field:
    """A computed fact, typed by its annotation: money stays a decimal string, like every
    other amount the API shows."""
    attribute = getattr(model, name)
    getter = attribute.fget if isinstance(attribute, property) else attribute.func
    if get_type_hints(getter).get("return") is Decimal:
        return serializers.DecimalField(max_digits=None, decimal_places=None, read_only=True)
    return serializers.ReadOnlyField()


def output_serializer(model: type[models.Model], extra: tuple[str, ...] = ()):
    """Every concrete field of ``model`` (related rows by id), read-only, plus ``extra``
    attributes (computed facts the detail page shows, e.g. an invoice's outstanding)."""
    names = ["id"] + [f.name for f in model._meta.concrete_fields if not f.primary_key]
    attrs = {name: _fact_field(model, name) for name in extra}
    meta = type("Meta", (), {"model": model, "fields": [*names, *extra], "read_only_fields": names})
    return type(
        f"{model.__name__}Serializer", (serializers.ModelSerializer,), {"Meta": meta, **attrs}
    )


class FormValidatedSerializer(serializers.ModelSerializer):
    """Input for one area: the area form's fields, typed for JSON, validated by the form.

    Fields the form leaves out for this user (a reseller's user's own reseller) are left
    out here too, so they are ignored like read-only fields. Fields left out of the
    request keep their current value (PATCH, and optional fields on PUT) or take the
    form's initial value (on create: the model's defaults)."""

    form_class: ClassVar[type[forms.BaseForm]]

    def _user(self):
        user = getattr(self.context.get("request"), "user", None)
        return user if user is not None and user.is_authenticated else None

    def _form(self, data=None):
        instance = self.instance if self.instance is not None else self.Meta.model()
        return self.form_class(data, instance=instance, user=self._user())

    def get_fields(self):
        fields = super().get_fields()
        if self._user() is None:
            return fields  # describing the API (schema, docs): every field, no rows
        form = self._form()
        for name in list(fields):
            if name not in form.fields:
                del fields[name]
                continue
            field = fields[name]
            # The form checks uniqueness (within the scope the model defines); a
            # separate check here would only repeat it.
            field.validators = [v for v in field.validators if not isinstance(v, UniqueValidator)]
            if isinstance(field, serializers.RelatedField):
                field.queryset = form.fields[name].queryset  # the user's scoped rows
        return fields

    def validate(self, attrs):
        current = self._form()
        data = {name: current[name].value() for name in current.fields}
        data.update(attrs)
        form = self._form(data)
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form))
        return form.cleaned_data


def input_serializer(form_class: type[forms.BaseModelForm], name: str):
    model = form_class._meta.model
    meta = type(
        "Meta",
        (),
        {"model": model, "fields": list(form_class._meta.fields), "validators": []},
    )
    doc = (
        f"The fields a request may set on a {model._meta.verbose_name}, checked by the "
        "panel's own form. Fields left out keep their value (PATCH, and optional fields "
        "on PUT) or take their default (create). A reseller's user does not set the "
        "reseller: their own is used."
    )
    return type(
        f"{name}InputSerializer",
        (FormValidatedSerializer,),
        {"Meta": meta, "form_class": form_class, "__doc__": doc},
    )


# --- Filters and sorting -----------------------------------------------------------------


def _sorts(definition: AreaDefinition) -> list[str]:
    keys = [column.sort for column in definition.columns if column.sort]
    return [*keys, *(f"-{key}" for key in keys)]


def filter_form_class(definition: AreaDefinition) -> type[forms.Form]:
    """The list's query parameters as a form: ``q`` (the search box), ``sort`` (a column,
    ``-`` for descending), one parameter per related row, choice and yes/no field of the
    model, and the area's own filters (call records: a date range)."""
    own = definition.filter_form.base_fields if definition.filter_form else {}
    fields: dict[str, forms.Field] = {
        "q": forms.CharField(required=False, max_length=SEARCH_MAX_LENGTH, strip=True),
        "sort": forms.ChoiceField(required=False, choices=[(s, s) for s in _sorts(definition)]),
    }
    for field in definition.model._meta.concrete_fields:
        if field.name in own or field.primary_key:
            continue
        if field.many_to_one:
            fields[field.name] = forms.ModelChoiceField(
                queryset=field.related_model._default_manager.all(), required=False
            )
        elif field.choices:
            fields[field.name] = forms.ChoiceField(required=False, choices=list(field.choices))
        elif isinstance(field, models.BooleanField):
            fields[field.name] = forms.TypedChoiceField(
                required=False,
                choices=BOOLEAN_CHOICES,
                coerce=lambda value: value == "true",
                empty_value=None,
            )

    def __init__(self, *args, user, **kwargs):
        forms.Form.__init__(self, *args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = scoped(field.queryset, user)

    return type(f"{_camel(definition.key)}Filters", (forms.Form,), {**fields, "__init__": __init__})


def filter_parameters(definition: AreaDefinition) -> list[OpenApiParameter]:
    """The list's query parameters, for the schema and the docs page."""
    params = [
        OpenApiParameter(
            "q",
            str,
            description="Search in "
            + ", ".join(name.replace("__", " ") for name in definition.search_fields)
            + ".",
        )
        if definition.search_fields
        else None,
        OpenApiParameter("sort", str, enum=_sorts(definition), description="Sort by a column."),
        OpenApiParameter("page", int, description="Page number, from 1."),
        OpenApiParameter("page_size", int, description=f"Rows a page, up to {MAX_PAGE_SIZE}."),
    ]
    filters = filter_form_class(definition).base_fields
    own = definition.filter_form.base_fields if definition.filter_form else {}
    for name, field in {**filters, **own}.items():
        if name in ("q", "sort"):
            continue
        kind, enum = str, None
        if isinstance(field, forms.ModelChoiceField):
            kind, text = int, f"Only rows of this {name} (id)."
        elif isinstance(field, forms.DateField):
            text = f"{field.label or name} (YYYY-MM-DD, in your time zone)."
        elif isinstance(field, forms.TypedChoiceField):
            enum, text = ["true", "false"], f"Only rows whose {name} is true or false."
        elif isinstance(field, forms.ChoiceField):
            enum = [value for value, _ in field.choices if value != ""]
            text = f"Only rows with this {name}."
        else:
            text = f"Only rows with this {name}."
        params.append(OpenApiParameter(name, kind, enum=enum, description=text))
    return [p for p in params if p is not None]


class AreaPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


# --- Viewsets ----------------------------------------------------------------------------


class AreaViewSet(viewsets.GenericViewSet):
    """List, retrieve, create, update and delete the rows of one area (see module doc)."""

    definition: ClassVar[AreaDefinition]
    input_class: ClassVar[type[serializers.Serializer] | None]
    filters_class: ClassVar[type[forms.Form]]
    query_parameters: ClassVar[list[OpenApiParameter]]

    def get_queryset(self):
        return self.definition.rows(self.request.user)

    def _filtered(self, queryset):
        """``queryset`` narrowed by the list's query parameters; a bad one is a 400."""
        definition, params, user = self.definition, self.request.query_params, self.request.user
        filters = self.filters_class(params, user=user)
        own = definition.filter_form(params, user=user) if definition.filter_form else None
        errors = {}
        for form in (filters, own):
            if form is not None and not form.is_valid():
                errors.update(form_errors(form))
        if errors:
            raise serializers.ValidationError(errors)
        values = dict(filters.cleaned_data)
        queryset = search(queryset, definition.search_fields, values.pop("q"))
        sort = values.pop("sort") or definition.default_sort
        for name, value in values.items():
            if value is not None and value != "":
                queryset = queryset.filter(**{name: value})
        if own is not None:
            queryset = own.filter(queryset)
        return queryset.order_by(sort, "-pk" if sort.startswith("-") else "pk")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self._filtered(self.get_queryset()))
        return self.get_paginated_response(self.serializer_class(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.serializer_class(self.get_object()).data)

    def _validated(self, instance=None, *, partial=False) -> dict:
        serializer = self.input_class(
            instance, data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        values = self._validated()
        row = run_service(
            request,
            lambda: self.definition.create(
                actor=request.user, address=client_ip(request), values=values
            ),
            area=self.definition.key,
            action="create",
        )
        return Response(self.serializer_class(row).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial: bool = False, **kwargs):
        row = self.get_object()
        values = self._validated(row, partial=partial)
        row = run_service(
            request,
            lambda: self.definition.update(
                actor=request.user, address=client_ip(request), instance=row, values=values
            ),
            area=self.definition.key,
            action="update",
        )
        return Response(self.serializer_class(row).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        row = self.get_object()
        run_service(
            request,
            lambda: self.definition.delete(
                actor=request.user, address=client_ip(request), instance=row
            ),
            area=self.definition.key,
            action="delete",
            conflict=True,  # rows that still need it: nothing is orphaned
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChildRowsViewSet(viewsets.GenericViewSet):
    """Rows listed on and added from a parent's page: ``/api/cp/<area>/<id>/<slug>``."""

    definition: ClassVar[AreaDefinition]
    related: ClassVar[Related]
    child: ClassVar[ChildForm]
    input_class: ClassVar[type[serializers.Serializer]]

    def _parent(self):
        return get_object_or_404(self.definition.rows(self.request.user), pk=self.kwargs["pk"])

    def get_queryset(self):
        return scoped(self.related.rows(self._parent()), self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.serializer_class(page, many=True).data)

    def create(self, request, *args, **kwargs):
        parent = self._parent()
        serializer = self.input_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        row = run_service(
            request,
            lambda: self.child.create(
                **{self.child.parent_arg: parent},
                actor=request.user,
                address=client_ip(request),
                values=serializer.validated_data,
            ),
            area=self.definition.key,
            action=self.child.action,
        )
        return Response(self.serializer_class(row).data, status=status.HTTP_201_CREATED)


# --- Building one area's API -------------------------------------------------------------


@dataclass(frozen=True)
class ChildApi:
    slug: str
    viewset: type[ChildRowsViewSet]


@dataclass(frozen=True)
class AreaApi:
    """What the URL configuration needs for one area: its viewset, whether it takes
    writes, and the rows added from its records' pages."""

    key: str
    viewset: type[viewsets.GenericViewSet]
    read_only: bool
    children: tuple[ChildApi, ...] = ()


def _extra_facts(definition: AreaDefinition) -> tuple[str, ...]:
    concrete = {f.name for f in definition.model._meta.concrete_fields}
    return tuple(
        column.attr
        for column in definition.detail_fields
        if "." not in column.attr
        and column.attr not in concrete
        and isinstance(getattr(definition.model, column.attr, None), property | cached_property)
    )


def _child_api(definition: AreaDefinition, related: Related) -> ChildApi:
    child = related.child
    if related.area != definition.key:
        raise ImproperlyConfigured(
            f"{definition.key}: rows added from its page must belong to the same area."
        )
    model = child.form_class._meta.model
    name = f"{_camel(definition.key)}{_camel(child.slug)}"
    output = output_serializer(model)
    attrs = {
        "definition": definition,
        "related": related,
        "child": child,
        "serializer_class": output,
        "input_class": input_serializer(child.form_class, model.__name__),
        "pagination_class": type(f"{name}Pagination", (AreaPagination,), {"page_size": 50}),
        "access_declaration": ChildRowsByMethod(definition.key, child.action),
        "__doc__": f"{related.title} of one {definition.verbose_name}.",
    }
    viewset = type(f"{name}ViewSet", (ChildRowsViewSet,), attrs)
    tags = [definition.key]
    viewset = extend_schema_view(
        list=extend_schema(
            tags=tags,
            summary=f"{related.title} of a {definition.verbose_name}",
            description=needs("read", definition.key),
        ),
        create=extend_schema(
            tags=tags,
            summary=child.label,
            description=needs(child.action, definition.key),
            request=attrs["input_class"],
            responses={201: output},
        ),
    )(viewset)
    return ChildApi(child.slug, viewset)


def crud_schemas(
    key: str, *, singular: str, plural: str, output, input_class, parameters, list_response=None
) -> dict:
    """The schema of an area's operations, each naming the action it needs."""
    tags = [key]
    schemas = {
        "list": extend_schema(
            tags=tags,
            summary=f"List {plural}",
            description=needs("read", key),
            parameters=parameters,
            **({"responses": list_response} if list_response else {}),
        ),
        "retrieve": extend_schema(
            tags=tags, summary=f"One {singular}", description=needs("read", key)
        ),
    }
    if input_class is None:
        return schemas
    return {
        **schemas,
        "create": extend_schema(
            tags=tags,
            summary=f"Create a {singular}",
            description=needs("create", key),
            request=input_class,
            responses={201: output},
        ),
        "update": extend_schema(
            tags=tags,
            summary=f"Change a {singular}",
            description=needs("update", key),
            request=input_class,
            responses=output,
        ),
        "partial_update": extend_schema(
            tags=tags,
            summary=f"Change some fields of a {singular}",
            description=needs("update", key),
            request=input_class,
            responses=output,
        ),
        "destroy": extend_schema(
            tags=tags,
            summary=f"Delete a {singular}",
            description=needs("delete", key),
            responses={204: None},
        ),
    }


def area_api(definition: AreaDefinition) -> AreaApi:
    """The API of one area, generated from its definition."""
    name = _camel(definition.key)
    output = output_serializer(definition.model, _extra_facts(definition))
    input_class = None if definition.read_only else input_serializer(definition.form_class, name)
    attrs = {
        "definition": definition,
        "serializer_class": output,
        "input_class": input_class,
        "filters_class": filter_form_class(definition),
        "query_parameters": filter_parameters(definition),
        "pagination_class": type(
            f"{name}Pagination", (AreaPagination,), {"page_size": definition.per_page}
        ),
        "access_declaration": AreaByMethod(definition.key),
        "__doc__": f"{definition.label}: {definition.area.description}.",
    }
    viewset = type(f"{name}ViewSet", (AreaViewSet,), attrs)
    label = definition.verbose_name
    schemas = crud_schemas(
        definition.key,
        singular=label,
        plural=definition.verbose_name_plural,
        output=output,
        input_class=input_class,
        parameters=attrs["query_parameters"],
    )
    viewset = extend_schema_view(**schemas)(viewset)
    children = tuple(
        _child_api(definition, related) for related in definition.related if related.child
    )
    return AreaApi(definition.key, viewset, definition.read_only, children)
