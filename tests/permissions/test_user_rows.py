"""The users table's rows, written in Python: what the template wrote, escaped."""

import datetime

import pytest
from django.utils import timezone

from permissions.user_rows import user_rows
from tests.factories import GroupFactory, ResellerFactory, UserFactory

pytestmark = pytest.mark.django_db


def rows_for(people, *, actor_pk=0, locked=frozenset(), editable=True):
    for person in people:
        person.edit_answer = editable
        person.group_list = list(person.access_groups.order_by("name"))
    return str(user_rows(people, actor_pk=actor_pk, locked=locked))


def test_values_are_escaped_and_groups_listed_by_name():
    person = UserFactory(
        name='<script>x</script> "Bob"',
        groups=[GroupFactory(name="B & <c>"), GroupFactory(name="A")],
        reseller=ResellerFactory(name="R&D"),
    )
    html = rows_for([person])
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt; &quot;Bob&quot;" in html
    assert '<span class="chip">A</span> <span class="chip">B &amp; &lt;c&gt;</span>' in html
    assert "<td>R&amp;D</td>" in html


def test_links_follow_the_answer_and_no_password_link_on_ones_own_row():
    me, other = UserFactory(), UserFactory()
    mine = rows_for([me], actor_pk=me.pk)
    assert f'/settings/users/{me.pk}/edit/"' in mine and "/password/" not in mine
    theirs = rows_for([other], actor_pk=me.pk)
    assert f"/settings/users/{other.pk}/password/" in theirs
    readonly = rows_for([other], actor_pk=me.pk, editable=False)
    assert "/edit/" not in readonly and f"/settings/users/{other.pk}/access/" in readonly


def test_last_sign_in_in_the_current_time_zone_and_status_pills():
    moment = datetime.datetime(2026, 12, 1, 21, 30, tzinfo=datetime.UTC)
    person = UserFactory(last_login=moment, email_verified_at=None)
    with timezone.override("Asia/Kolkata"):
        html = rows_for([person], locked={person.email})
    assert '<span class="nowrap">2026-12-02</span>' in html and ">03:00</span>" in html
    assert "✓ active" in html and ">unverified</span>" in html and ">locked</span>" in html
    invited = UserFactory(password=None, last_login=None)
    invited.set_unusable_password()
    invited.save()
    assert "✉ invited" in rows_for([invited]) and "never" in rows_for([invited])
    assert "✗ deactivated" in rows_for([UserFactory(is_active=False)])


def test_group_rows_escape_and_say_granular_or_defaults():
    from controlpanel.kit.areas import mask_of
    from permissions.group_rows import group_rows

    plain = GroupFactory(name="<b>Readers</b>", defaults=mask_of(["read", "update"]))
    plain.rule_count, plain.allow_count, plain.member_count = 1, 0, 7
    granular = GroupFactory(name="G", defaults=0)
    granular.rule_count, granular.allow_count, granular.member_count = 2, 1, 0
    nothing = GroupFactory(name="N", defaults=0)
    nothing.rule_count = nothing.allow_count = nothing.member_count = 0
    html = str(group_rows([plain, granular, nothing]))
    assert "&lt;b&gt;Readers&lt;/b&gt;" in html and f"/settings/groups/{plain.pk}/" in html
    pills = '<span class="pill pill--ok">read</span> <span class="pill pill--ok">update</span>'
    assert pills in html
    assert "<td>1</td><td>7</td>" in html and ">granular</span>" in html
    assert '<span class="pill pill--no">none</span>' in html
