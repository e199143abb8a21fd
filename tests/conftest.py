"""The fixed cast: an administrator, a staff user in a group, a reseller's user and an
outsider (signed in, no groups). Tests read like stories about them."""

import pytest
from django.core.cache import cache

from permissions.areas import mask_of
from permissions.models import Rule

from .factories import (
    TEST_PASSWORD,
    AdminFactory,
    GroupFactory,
    ResellerFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def admin(db):
    return AdminFactory(email="ada@example.com", name="Ada Admin")


@pytest.fixture
def staff_group(db):
    group = GroupFactory(name="Network Services Engineers")
    Rule.objects.create(
        group=group, area="routing", actions=mask_of(["create", "read", "update", "delete"])
    )
    Rule.objects.create(group=group, area="carrier", actions=mask_of(["read"]))
    return group


@pytest.fixture
def staff(db, staff_group):
    return UserFactory(email="sam@example.com", name="Sam Staff", groups=[staff_group])


@pytest.fixture
def reseller(db):
    return ResellerFactory(name="Acme Telecom")


@pytest.fixture
def reseller_user(db, reseller):
    group = GroupFactory(name="Reseller", defaults=mask_of(["read"]))
    return UserFactory(
        email="rita@acme.example", name="Rita Reseller", reseller=reseller, groups=[group]
    )


@pytest.fixture
def outsider(db):
    return UserFactory(email="olly@example.com", name="Olly Outsider")


@pytest.fixture
def client_as(client):
    """Sign the test client in as a user: ``client_as(staff).get(...)``."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
