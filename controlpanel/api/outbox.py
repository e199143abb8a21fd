"""The `outbox` area over the API: read-only, the rows of the outbox page
(``permissions.outbox_views``), scoped the same way. A sensitive mail's body (one that
carries a sign-in link) is never shown; writes answer 405 (sending again is a page action)."""

from __future__ import annotations

from django.core.paginator import InvalidPage
from drf_spectacular.utils import OpenApiParameter, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from controlpanel.kit.declarations import AreaByMethod
from controlpanel.kit.paging import UncountedPage
from controlpanel.outbox.models import OutboxMessage, OutboxState
from permissions.outbox import messages_visible_to

from .records import crud_schemas

PAGE_SIZE = 50
BAD_STATE = "Choose one of: {states}."
NO_SUCH_PAGE = "That page has no results; the last page is the one whose has_next is false."


class OutboxMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "kind",
            "to",
            "subject",
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "sent_at",
            "reseller",
        ]
        read_only_fields = fields


FILTERS = [
    OpenApiParameter("state", str, enum=list(OutboxState.values), description="One state."),
    OpenApiParameter("page", int, description="Page number (50 a page, no total)."),
]


@extend_schema_view(
    **crud_schemas(
        "outbox",
        singular="outbox mail",
        plural="outbox mails, newest first",
        output=OutboxMessageSerializer,
        input_class=None,
        parameters=FILTERS,
    )
)
class OutboxViewSet(viewsets.GenericViewSet):
    """The e-mail outbox (read-only)."""

    access_declaration = AreaByMethod("outbox")
    serializer_class = OutboxMessageSerializer
    input_class = None
    query_parameters = FILTERS

    def get_queryset(self):
        return messages_visible_to(self.request.user)

    def list(self, request, *args, **kwargs):
        state = request.query_params.get("state", "")
        if state and state not in OutboxState.values:
            raise serializers.ValidationError(
                {"state": [BAD_STATE.format(states=", ".join(OutboxState.values))]}
            )
        rows = messages_visible_to(request.user, state=state)
        try:
            page = UncountedPage(rows, request.query_params.get("page"), PAGE_SIZE)
        except InvalidPage:
            raise serializers.ValidationError({"page": [NO_SUCH_PAGE]}) from None
        return Response(
            {
                "page": page.number,
                "has_next": page.has_next(),
                "results": OutboxMessageSerializer(page.object_list, many=True).data,
            }
        )

    def retrieve(self, request, *args, **kwargs):
        return Response(OutboxMessageSerializer(self.get_object()).data)
