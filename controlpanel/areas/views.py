"""The shared generic views: one set of list, detail, create, edit and delete views that
serves every area, parameterised by its ``AreaDefinition``.

``area_urlpatterns(definition)`` gives each area its URL patterns, each declared with
``@requires(area, action)`` (list and detail: read; create: create; edit: update;
delete: delete). The middleware has already decided the area and action when a view
runs; the views only narrow rows to the user's scope (``definition.rows``), so another
reseller's row answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import requires
from controlpanel.kit.forms import add_errors
from permissions.resolver import access_of
from resellers.selectors import scoped

from .listing import build_listing, cells_for, rows_for
from .registry import AreaDefinition, ChildForm


def _readable(request: HttpRequest):
    access = access_of(request)
    return lambda area: access.can(area, "read")


def _get_row(request: HttpRequest, definition: AreaDefinition, pk: int):
    return get_object_or_404(definition.rows(request.user), pk=pk)


def record_list(request: HttpRequest, definition: AreaDefinition) -> HttpResponse:
    queryset = definition.rows(request.user)
    filter_form = None
    if definition.filter_form is not None:
        filter_form = definition.filter_form(request.GET, user=request.user)
        queryset = filter_form.filter(queryset)
    listing = build_listing(request, definition, queryset, _readable(request))
    return render(
        request,
        definition.list_template,
        {"definition": definition, "listing": listing, "filter_form": filter_form},
    )


def _related_sections(request: HttpRequest, definition: AreaDefinition, obj) -> list[dict]:
    readable = _readable(request)
    sections = []
    for related in definition.related:
        if not readable(related.area):
            continue  # the rows of an area the user cannot read are never shown
        queryset = scoped(related.rows(obj), request.user)
        if related.limit is None:
            rows = list(queryset)
            total = len(rows)
        else:
            rows = list(queryset[: related.limit])
            total = len(rows) if len(rows) < related.limit else queryset.count()
        sections.append(
            {
                "related": related,
                "headers": [c.label for c in related.columns],
                "rows": rows_for(rows, related.columns, related.area, readable),
                "total": total,
                "child_form": (
                    related.child.form_class(user=request.user) if related.child else None
                ),
            }
        )
    return sections


def record_detail(request: HttpRequest, definition: AreaDefinition, pk: int) -> HttpResponse:
    obj = _get_row(request, definition, pk)
    readable = _readable(request)
    facts = list(
        zip(
            definition.detail_fields,
            cells_for(obj, definition.detail_fields, readable),
            strict=True,
        )
    )
    return render(
        request,
        definition.detail_template,
        {
            "definition": definition,
            "object": obj,
            "facts": facts,
            "sections": _related_sections(request, definition, obj),
        },
    )


def record_create(request: HttpRequest, definition: AreaDefinition) -> HttpResponse:
    form = definition.form_class(
        request.POST or None, instance=definition.model(), user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            obj = definition.create(
                actor=request.user, address=client_ip(request), values=form.cleaned_data
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"The {definition.verbose_name} “{obj}” was created.")
            return redirect(f"{definition.key}-detail", pk=obj.pk)
    return render(
        request, "areas/form.html", {"definition": definition, "form": form, "object": None}
    )


def record_update(request: HttpRequest, definition: AreaDefinition, pk: int) -> HttpResponse:
    obj = _get_row(request, definition, pk)
    label = str(obj)
    form = definition.form_class(request.POST or None, instance=obj, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            obj = definition.update(
                actor=request.user,
                address=client_ip(request),
                instance=obj,
                values=form.cleaned_data,
            )
        except definition.model.DoesNotExist:
            raise Http404 from None
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"The {definition.verbose_name} “{obj}” was saved.")
            return redirect(f"{definition.key}-detail", pk=obj.pk)
    return render(
        request,
        "areas/form.html",
        {"definition": definition, "form": form, "object": obj, "object_label": label},
    )


def record_delete(request: HttpRequest, definition: AreaDefinition, pk: int) -> HttpResponse:
    obj = _get_row(request, definition, pk)
    error = ""
    if request.method == "POST":
        label = str(obj)
        try:
            definition.delete(actor=request.user, address=client_ip(request), instance=obj)
        except definition.model.DoesNotExist:
            raise Http404 from None
        except ValidationError as refused:
            error = " ".join(refused.messages)
        else:
            messages.success(request, f"The {definition.verbose_name} “{label}” was deleted.")
            return redirect(f"{definition.key}-list")
    return render(
        request,
        "areas/confirm_delete.html",
        {"definition": definition, "object": obj, "error": error},
        status=409 if error else 200,
    )


def child_create(
    request: HttpRequest, definition: AreaDefinition, child: ChildForm, pk: int
) -> HttpResponse:
    """Add a row from the parent's page (a payment to an invoice, a reply to a ticket)."""
    parent = _get_row(request, definition, pk)
    form = child.form_class(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            child.create(
                **{child.parent_arg: parent},
                actor=request.user,
                address=client_ip(request),
                values=form.cleaned_data,
            )
        except definition.model.DoesNotExist:
            raise Http404 from None
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"{child.label}: saved.")
            return redirect(f"{definition.key}-detail", pk=parent.pk)
    return render(
        request,
        "areas/child_form.html",
        {"definition": definition, "child": child, "parent": parent, "form": form},
    )


# --- URL patterns -----------------------------------------------------------------------
def _bind(view, definition: AreaDefinition, action: str, methods, **extra):
    """``view`` for one area, declared with ``@requires(area, action)``."""

    def area_view(request, **kwargs):
        return view(request, definition, **extra, **kwargs)

    area_view.__name__ = f"{view.__name__}_{definition.key.replace('-', '_')}"
    area_view.__qualname__ = area_view.__name__
    area_view.__doc__ = view.__doc__
    limited = (
        require_safe(area_view) if methods == "safe" else require_http_methods(methods)(area_view)
    )
    return requires(definition.key, action)(limited)


def area_urlpatterns(definition: AreaDefinition) -> list:
    """The URL patterns of one area: list and detail, plus create, edit and delete unless
    the area is read-only in the panel, plus the forms of its child rows."""
    key, prefix = definition.key, definition.url_prefix
    patterns = [
        path(f"{prefix}/", _bind(record_list, definition, "read", "safe"), name=f"{key}-list"),
        path(
            f"{prefix}/<int:pk>/",
            _bind(record_detail, definition, "read", "safe"),
            name=f"{key}-detail",
        ),
    ]
    if not definition.read_only:
        patterns += [
            path(
                f"{prefix}/new/",
                _bind(record_create, definition, "create", ["GET", "POST"]),
                name=f"{key}-create",
            ),
            path(
                f"{prefix}/<int:pk>/edit/",
                _bind(record_update, definition, "update", ["GET", "POST"]),
                name=f"{key}-update",
            ),
            path(
                f"{prefix}/<int:pk>/delete/",
                _bind(record_delete, definition, "delete", ["GET", "POST"]),
                name=f"{key}-delete",
            ),
        ]
    for child in definition.children:
        patterns.append(
            path(
                f"{prefix}/<int:pk>/{child.slug}/new/",
                _bind(child_create, definition, child.action, ["GET", "POST"], child=child),
                name=f"{key}-{child.name}-create",
            )
        )
    return patterns
