"""The `group` area over the API: the same services as Setup > Settings > Groups.

Writes call ``permissions.services`` (``group_create``, ``group_update``,
``group_delete``, ``rule_set``, ``rule_delete``), which refuse any change that would let
the group's members do what the actor cannot. A request is one transaction.

Members are changed from the user's side (``groups`` on a user), as in the panel; a
group lists the members the actor may see.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from accounts.selectors import users_visible_to
from controlpanel.kit.areas import ACTIONS
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import AreaByMethod
from permissions import services
from permissions.models import Group
from permissions.resolver import is_granular

from .errors import run_service
from .records import AreaPagination, crud_schemas
from .rules import RuleSerializer, apply_rules


class GroupSerializer(serializers.ModelSerializer):
    defaults = serializers.ListField(
        source="default_actions", child=serializers.CharField(), read_only=True
    )
    granular = serializers.SerializerMethodField()
    rules = RuleSerializer(many=True, read_only=True)
    members = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = [
            "id",
            "name",
            "defaults",
            "granular",
            "rules",
            "reseller",
            "members",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_granular(self, group: Group) -> bool:
        """Whether an allow rule makes the group grant exactly its rules (defaults
        ignored)."""
        return is_granular(rule.effect for rule in group.rules.all())

    @extend_schema_field({"type": "array", "items": {"type": "integer"}})
    def get_members(self, group: Group) -> list[int]:
        request = self.context.get("request")
        visible = users_visible_to(request.user) if request else group.members.none()
        return list(visible.filter(access_groups=group).order_by("pk").values_list("pk", flat=True))


class GroupInputSerializer(serializers.Serializer):
    """``name`` is required to create a group; ``defaults`` (the actions granted on every
    area while the group has no allow rule) are all four unless given. On PUT and PATCH
    fields left out keep their values; ``rules``, when given, is the group's whole list."""

    name = serializers.CharField(max_length=150, required=False)
    defaults = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ACTIONS)), required=False, max_length=4
    )
    rules = RuleSerializer(many=True, required=False)
    updated_at = serializers.DateTimeField(required=False)

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["name"].required = True


def _apply_group_rules(group: Group, rules: list[dict], *, actor, address) -> None:
    apply_rules(
        current=list(group.rules.all()),
        wanted=rules,
        set_rule=lambda **rule: services.rule_set(
            group=group, actor=actor, address=address, **rule
        ),
        delete_rule=lambda rule: services.rule_delete(rule=rule, actor=actor, address=address),
    )


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Search: name."),
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Rows a page, up to 100."),
]


@extend_schema_view(
    **crud_schemas(
        "group",
        singular="group",
        plural="groups",
        output=GroupSerializer,
        input_class=GroupInputSerializer,
        parameters=LIST_PARAMETERS,
    )
)
class GroupViewSet(viewsets.GenericViewSet):
    """Groups: default permissions and per-area rules."""

    access_declaration = AreaByMethod("group")
    serializer_class = GroupSerializer
    input_class = GroupInputSerializer
    query_parameters = LIST_PARAMETERS
    pagination_class = AreaPagination

    def get_queryset(self):
        return Group.objects.prefetch_related("rules").order_by("name", "pk")

    def list(self, request, *args, **kwargs):
        groups = self.get_queryset()
        search = request.query_params.get("q", "").strip()[:100]
        if search:
            groups = groups.filter(name__icontains=search)
        page = self.paginate_queryset(groups)
        return self.get_paginated_response(self._show(page, many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._show(self.get_object()))

    def _show(self, groups, **kwargs):
        return GroupSerializer(groups, context=self.get_serializer_context(), **kwargs).data

    def _input(self, *, creating=False) -> dict:
        serializer = GroupInputSerializer(data=self.request.data, creating=creating)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        values = self._input(creating=True)
        actor, address = request.user, client_ip(request)
        defaults = values.get("defaults", list(ACTIONS))

        @transaction.atomic
        def create():
            if not values.get("rules"):
                return services.group_create(
                    name=values["name"], defaults=defaults, actor=actor, address=address
                )
            # The escalation checks judge each step against the one before, so the steps
            # never pass through a state that grants more than the group asked for: no
            # defaults while the rules are set (denies first, then allows), then the
            # defaults, which a granular group ignores. A group whose rules make it
            # granular is judged by those rules, not by its all-four defaults.
            group = services.group_create(
                name=values["name"], defaults=[], actor=actor, address=address
            )
            _apply_group_rules(group, values["rules"], actor=actor, address=address)
            if defaults:
                group = services.group_update(
                    group=group, defaults=defaults, actor=actor, address=address
                )
            return group

        group = run_service(request, create, area="group", action="create")
        return Response(self._show(self._fresh(group)), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        group = self.get_object()
        values = self._input()
        actor, address = request.user, client_ip(request)

        @transaction.atomic
        def update():
            saved = group
            changed = {name: values[name] for name in ("name",) if name in values}
            wanted_defaults = values.get("defaults")
            if wanted_defaults is not None and "rules" in values:
                # Defaults and rules together: narrow the defaults first (to what both
                # the old and the new defaults grant), then set the rules, then widen
                # the defaults, so no step grants more than the final group does.
                kept = [action for action in wanted_defaults if action in group.default_actions]
                changed["defaults"] = kept
            elif wanted_defaults is not None:
                changed["defaults"] = wanted_defaults
            if changed or "updated_at" in values:
                saved = services.group_update(
                    group=group,
                    **changed,
                    expected_updated_at=values.get("updated_at"),
                    actor=actor,
                    address=address,
                )
            if "rules" in values:
                _apply_group_rules(saved, values["rules"], actor=actor, address=address)
                if wanted_defaults is not None:
                    saved = services.group_update(
                        group=saved, defaults=wanted_defaults, actor=actor, address=address
                    )
            return saved

        group = run_service(request, update, area="group", action="update")
        return Response(self._show(self._fresh(group)))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        group = self.get_object()
        run_service(
            request,
            lambda: services.group_delete(
                group=group, actor=request.user, address=client_ip(request)
            ),
            area="group",
            action="delete",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _fresh(self, group: Group) -> Group:
        return self.get_queryset().get(pk=group.pk)
