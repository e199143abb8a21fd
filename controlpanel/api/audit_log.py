"""The `audit-log` area over the API: read-only, exactly the rows and filters of the audit
pages (``permissions.audit_views``).

Entries are scoped by ``resellers.selectors.scoped`` (a reseller's users read only their
reseller's entries), filtered by the audit page's own form and paged by its keyset
(``older`` / ``newer`` cursors, newest first), so a deep page costs what the first does.
Writes answer 405: entries are never changed through the panel.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.declarations import AreaByMethod
from permissions.audit_views import AuditFilterForm
from resellers.selectors import scoped

from .errors import form_errors
from .records import crud_schemas

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_label",
            "address",
            "action",
            "object_type",
            "object_id",
            "message",
            "changes",
            "reseller",
        ]
        read_only_fields = fields


class AuditPageSerializer(serializers.Serializer):
    """The list's envelope: no total count (the trail is long); follow ``next``."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AuditEntrySerializer(many=True)


FILTERS = [
    OpenApiParameter("actor", str, description="Actor e-mail contains."),
    OpenApiParameter("action", str, enum=list(audit.ACTIONS), description="One action."),
    OpenApiParameter("object_type", str, description="Object type, e.g. user, customer."),
    OpenApiParameter("object_id", str, description="Object id (with object_type)."),
    OpenApiParameter("date_from", str, description="From this day (YYYY-MM-DD, your time zone)."),
    OpenApiParameter("date_to", str, description="To this day, included."),
    OpenApiParameter("older", str, description="Cursor: the page after (from `next`)."),
    OpenApiParameter("newer", str, description="Cursor: the page before (from `previous`)."),
    OpenApiParameter("page_size", int, description=f"Entries a page, up to {MAX_PAGE_SIZE}."),
]


def _page_size(value: str | None) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return PAGE_SIZE
    return min(max(size, 1), MAX_PAGE_SIZE)


@extend_schema_view(
    **crud_schemas(
        "audit-log",
        singular="audit entry",
        plural="audit entries, newest first",
        output=AuditEntrySerializer,
        input_class=None,
        parameters=FILTERS,
        list_response=AuditPageSerializer,
    )
)
class AuditLogViewSet(viewsets.GenericViewSet):
    """The audit trail (read-only)."""

    access_declaration = AreaByMethod("audit-log")
    serializer_class = AuditEntrySerializer
    input_class = None
    query_parameters = FILTERS

    def get_queryset(self):
        return scoped(AuditEntry.objects.all(), self.request.user)

    def list(self, request, *args, **kwargs):
        form = AuditFilterForm(request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form))
        entries = audit.filter_entries(self.get_queryset(), **form.filters())
        page = audit.entries_page(
            entries,
            older_than=form.cleaned_data["older"],
            newer_than=form.cleaned_data["newer"],
            size=_page_size(request.query_params.get("page_size")),
        )
        here = remove_query_param(
            remove_query_param(request.build_absolute_uri(), "older"), "newer"
        )
        return Response(
            {
                "next": replace_query_param(here, "older", page.older) if page.older else None,
                "previous": replace_query_param(here, "newer", page.newer) if page.newer else None,
                "results": AuditEntrySerializer(page.entries, many=True).data,
            }
        )

    def retrieve(self, request, *args, **kwargs):
        return Response(AuditEntrySerializer(self.get_object()).data)
