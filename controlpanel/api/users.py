"""The `user` area over the API: the same services as Setup > Settings > Users.

Rows are the users the actor may see (``accounts.selectors.users_visible_to``: a
reseller's users for a reseller's user). Every write is a call to ``accounts.services``,
which holds the rules that matter: only administrators make or touch administrators,
nobody grants what they do not hold, nobody changes their own role, groups, rules or
whitelist, and the last active administrator stays. A request is one transaction: if any
part is refused, nothing is saved.

A user is shown without anything secret: no password hash, no session or access version,
no tokens.
"""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from accounts.identity import canonical_email
from accounts.ipwhitelist import ip_allowed, parse_whitelist, stored_whitelist, typed_entries
from accounts.models import Role, User
from accounts.passwords import MAX_PASSWORD_LENGTH
from accounts.selectors import users_visible_to
from accounts.timezones import validate_timezone
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.declarations import AreaByMethod
from permissions import user_services as services
from permissions.models import Group
from resellers.models import Reseller

from .errors import run_service
from .records import AreaPagination, crud_schemas
from .rules import RuleSerializer, apply_rules

LOCKOUT = (
    "This whitelist does not include the address the panel sees for you ({address}): "
    'saving it would lock you out. Send "confirm_lockout": true to save it anyway.'
)
ACTIVE_ON_CREATE = "A new user is active; create them, then deactivate them."
PROFILE_FIELDS = (
    "email",
    "name",
    "role",
    "reseller",
    "groups",
    "timezone",
    "ip_whitelist",
    "shared_ticket",
)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class WhitelistField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return typed_entries(value)


class UserSerializer(serializers.ModelSerializer):
    groups = serializers.PrimaryKeyRelatedField(source="access_groups", many=True, read_only=True)
    ip_whitelist = WhitelistField()
    active = serializers.BooleanField(source="is_active", read_only=True)
    status = serializers.CharField(read_only=True)
    email_verified = serializers.BooleanField(source="is_verified", read_only=True)
    rules = RuleSerializer(source="access_rules", many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "role",
            "reseller",
            "groups",
            "timezone",
            "ip_whitelist",
            "shared_ticket",
            "active",
            "status",
            "email_verified",
            "last_login",
            "created_at",
            "updated_at",
            "rules",
        ]
        read_only_fields = fields


class UserInputSerializer(serializers.Serializer):
    """What a request may set. ``email``, ``password`` and ``role`` are required to
    create a user; on PUT and PATCH every field is optional and fields left out keep
    their values. ``updated_at`` (as last read) refuses the change with 409 if someone
    else saved the user since."""

    email = serializers.EmailField(max_length=254, required=False)
    name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    password = serializers.CharField(
        write_only=True, required=False, trim_whitespace=False, max_length=MAX_PASSWORD_LENGTH
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    reseller = serializers.PrimaryKeyRelatedField(
        queryset=Reseller.objects.all(), allow_null=True, required=False
    )
    groups = serializers.PrimaryKeyRelatedField(
        queryset=Group.objects.all(), many=True, required=False
    )
    timezone = serializers.CharField(max_length=64, validators=[validate_timezone], required=False)
    ip_whitelist = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=500
    )
    shared_ticket = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)
    rules = RuleSerializer(many=True, required=False)
    updated_at = serializers.DateTimeField(required=False)
    confirm_lockout = serializers.BooleanField(required=False, write_only=True)

    def validate_email(self, value: str) -> str:
        # The one canonical form (accounts.identity): a look-alike is a 400 on "email".
        try:
            return canonical_email(value)
        except ValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            for name in ("email", "password", "role"):
                self.fields[name].required = True


def _lockout_check(request, target: User, values: dict) -> None:
    """Saving your own whitelist without your own address asks for a confirmation, as the
    page does (an administrator is the only one who may change their own)."""
    if target.pk != request.user.pk or "ip_whitelist" not in values:
        return
    if values.get("confirm_lockout"):
        return
    try:
        entries = stored_whitelist(parse_whitelist(values["ip_whitelist"]))
    except ValidationError:
        return  # the service names what is wrong with it
    if typed_entries(entries) == typed_entries(target.ip_whitelist):
        return
    address = client_ip(request)
    if not ip_allowed(address, entries):
        raise serializers.ValidationError(
            {"ip_whitelist": [LOCKOUT.format(address=address or "unknown")]}
        )


def _profile_kwargs(values: dict) -> dict:
    return {name: values[name] for name in PROFILE_FIELDS if name in values}


def _apply_user_rules(user: User, rules: list[dict], *, actor, address) -> None:
    apply_rules(
        current=list(user.access_rules.all()),
        wanted=rules,
        set_rule=lambda **rule: services.user_rule_set(
            user=user, actor=actor, address=address, **rule
        ),
        delete_rule=lambda rule: services.user_rule_delete(rule=rule, actor=actor, address=address),
    )


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Search: e-mail and name."),
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Rows a page, up to 100."),
]


@extend_schema_view(
    **crud_schemas(
        "user",
        singular="user",
        plural="users",
        output=UserSerializer,
        input_class=UserInputSerializer,
        parameters=LIST_PARAMETERS,
    )
)
class UserViewSet(viewsets.GenericViewSet):
    """Users: logins, their role, groups, reseller, whitelist and own rules."""

    access_declaration = AreaByMethod("user")
    serializer_class = UserSerializer
    input_class = UserInputSerializer
    query_parameters = LIST_PARAMETERS
    pagination_class = AreaPagination

    def get_queryset(self):
        users = users_visible_to(self.request.user).select_related("reseller")
        return users.prefetch_related("access_groups", "access_rules").order_by("email")

    def list(self, request, *args, **kwargs):
        users = self.get_queryset()
        search = request.query_params.get("q", "").strip()[:100]
        if search:
            users = users.filter(Q(email__icontains=search) | Q(name__icontains=search))
        page = self.paginate_queryset(users)
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(UserSerializer(self.get_object()).data)

    def _input(self, *, creating=False) -> dict:
        serializer = UserInputSerializer(data=self.request.data, creating=creating)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        values = self._input(creating=True)
        if values.get("active") is False:
            raise serializers.ValidationError({"active": [ACTIVE_ON_CREATE]})
        actor, address = request.user, client_ip(request)

        @transaction.atomic
        def create():
            user = services.user_create(
                password=values["password"],
                **_profile_kwargs(values),
                actor=actor,
                address=address,
            )
            if values.get("rules"):
                _apply_user_rules(user, values["rules"], actor=actor, address=address)
            return user

        user = run_service(request, create, area="user", action="create")
        return Response(UserSerializer(self._fresh(user)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        target = self.get_object()
        values = self._input()
        _lockout_check(request, target, values)
        actor, address = request.user, client_ip(request)

        @transaction.atomic
        def update():
            user = target
            profile = _profile_kwargs(values)
            if profile or "updated_at" in values:
                user = services.user_update(
                    user=user,
                    **profile,
                    expected_updated_at=values.get("updated_at"),
                    actor=actor,
                    address=address,
                )
            if "rules" in values:
                _apply_user_rules(user, values["rules"], actor=actor, address=address)
            if "password" in values:
                user = services.user_set_password(
                    user=user, password=values["password"], actor=actor, address=address
                )
            if values.get("active", user.is_active) != user.is_active:
                change = services.user_activate if values["active"] else services.user_deactivate
                user = change(user=user, actor=actor, address=address)
            return user

        user = run_service(request, update, area="user", action="update")
        if user.pk == request.user.pk and getattr(request, "auth", None) is None:
            update_session_auth_hash(request._request, user)  # this session stays
        return Response(UserSerializer(self._fresh(user)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        target = self.get_object()
        run_service(
            request,
            lambda: services.user_delete(
                user=target, actor=request.user, address=client_ip(request)
            ),
            area="user",
            action="delete",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _fresh(self, user: User) -> User:
        return self.get_queryset().filter(pk=user.pk).first() or user
