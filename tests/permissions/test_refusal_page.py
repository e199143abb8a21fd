"""The refusal page tells the person why, in the resolver's words: a missing grant, a
deny rule that takes the action away (asking for a grant would not help), or a panel rule
that refuses one change of an action they do hold (it never claims the action is missing)."""

import html

import pytest

from controlpanel.kit.areas import mask_of
from permissions.checks import CANNOT_MANAGE_ADMINISTRATOR
from permissions.models import Effect, Rule
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

ASK_FOR_A_GRANT = "grant it to one of your groups"


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_refusal_for_a_missing_grant_names_it_and_says_nothing_grants_it(client_as, outsider):
    response = client_as(outsider).get("/customers/")
    assert response.status_code == 403
    body = page_text(response)
    assert "Missing permission: read on Customers" in " ".join(
        body.replace("<strong>", "").replace("</strong>", "").split()
    )
    assert "no groups and no own rules" in body


def test_refusal_by_a_deny_rule_names_the_rule_and_does_not_ask_for_a_grant(client_as):
    allow = GroupFactory(name="Operations", defaults=0)
    Rule.objects.create(group=allow, area="customer", actions=mask_of(["create", "read"]))
    freeze = GroupFactory(name="Customer freeze", defaults=0)
    Rule.objects.create(group=freeze, area="cdr", actions=mask_of(["read"]))
    Rule.objects.create(
        group=freeze, area="customer", actions=mask_of(["create"]), effect=Effect.DENY
    )
    member = UserFactory(groups=[allow, freeze])

    response = client_as(member).get("/customers/new/")
    assert response.status_code == 403
    body = page_text(response)
    assert "group 'Customer freeze': deny rule takes away create on customer" in body
    assert ASK_FOR_A_GRANT not in body


def test_refusal_of_a_held_action_does_not_claim_it_is_missing(client_as, manager, admin):
    response = client_as(manager).get(f"/settings/users/{admin.pk}/edit/")
    assert response.status_code == 403
    body = page_text(response)
    assert CANNOT_MANAGE_ADMINISTRATOR in body
    assert "Missing permission" not in body
    assert ASK_FOR_A_GRANT not in body
