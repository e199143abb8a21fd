"""Adding an area is one registry entry (ACCESS_MODEL.md, Areas): a throwaway area
registered by its definition alone shows up in the access vocabulary, the resolver, the
group editor, ``list_areas``, its pages, the navigation, the API and the API's docs table,
with no other edit."""

import importlib

import pytest
from django.urls import clear_url_caches

from controlpanel.api.registry import area_apis
from controlpanel.areas import forms
from controlpanel.areas.models import Carrier
from controlpanel.areas.registry import (
    AreaDefinition,
    Column,
    business_definitions,
    register,
    unregister,
)
from controlpanel.kit.areas import Area, all_areas, is_area, mask_of
from permissions import context_processors
from permissions.forms import area_choices
from permissions.models import Rule
from permissions.resolver import effective_permissions
from tests.factories import GroupFactory, UserFactory

from .factories import CarrierFactory

PROBE = "probe"


def _rebuild_urls() -> None:
    """What a restart does: URL patterns and the API built again from the registry."""
    area_apis.cache_clear()
    context_processors._AREA_URLS.clear()
    for name in ("controlpanel.areas.urls", "controlpanel.api.urls", "controlpanel.urls"):
        importlib.reload(importlib.import_module(name))
    clear_url_caches()


@pytest.fixture
def probe_area():
    # The one edit: a definition that carries its area. (Over the carrier model, so the
    # test needs no table of its own.)
    definition = register(
        AreaDefinition(
            area=Area(PROBE, "Probes", "a throwaway area of one test", reseller_scoped=False),
            model=Carrier,
            url_prefix="probes",
            form_class=forms.CarrierForm,
            columns=(Column("Name", "name", sort="name", link=True),),
            detail_fields=(Column("Name", "name"),),
            default_sort="name",
        )
    )
    _rebuild_urls()
    yield definition
    unregister(PROBE)
    _rebuild_urls()


@pytest.fixture
def probe_reader(db):
    group = GroupFactory(name="Probe readers")
    Rule.objects.create(group=group, area=PROBE, actions=mask_of(["read"]))
    return UserFactory(email="pia@example.com", name="Pia Probe", groups=[group])


def test_a_registered_definition_is_an_area_of_the_access_vocabulary(probe_area, manage):
    assert is_area(PROBE)
    # A business area: listed with the business areas, before the settings areas.
    keys = [area.key for area in all_areas()]
    assert keys.index(PROBE) < keys.index("user")
    assert probe_area in business_definitions()
    assert (PROBE, "Probes (/api/cp/probe)") in area_choices()
    assert "probe\tProbes\t/api/cp/probe\n" in manage("list_areas").out


@pytest.mark.django_db
def test_the_resolver_grants_and_checks_the_new_area(probe_area, probe_reader, manage):
    assert effective_permissions(probe_reader).actions(PROBE) == ["read"]
    everyone = UserFactory(groups=[GroupFactory(defaults=mask_of(["read", "update"]))])
    assert effective_permissions(everyone).actions(PROBE) == ["read", "update"]
    assert manage("check_access", probe_reader.email, PROBE, "read").status == 0
    assert manage("check_access", probe_reader.email, PROBE, "delete").status != 0


@pytest.mark.django_db
def test_the_new_area_has_pages_and_a_place_in_the_navigation(probe_area, probe_reader, client_as):
    CarrierFactory(name="Probe carrier")
    client = client_as(probe_reader)

    dashboard = client.get("/").content.decode()
    listing = client.get("/probes/")

    assert 'href="/probes/"' in dashboard
    assert "Probes" in dashboard
    assert listing.status_code == 200
    assert "Probe carrier" in listing.content.decode()
    assert client.get("/probes/new/").status_code == 403  # read only, as the rule says


@pytest.mark.django_db
def test_the_new_area_has_an_api_and_a_row_in_the_api_docs(probe_area, probe_reader, client_as):
    CarrierFactory(name="Probe carrier")
    client = client_as(probe_reader)

    response = client.get("/api/cp/probe")
    docs = client.get("/api/docs").content.decode()

    assert response.status_code == 200
    assert "Probe carrier" in response.content.decode()
    assert client.post("/api/cp/probe", {}, content_type="application/json").status_code == 403
    assert "/api/cp/probe" in docs
    assert "Probes" in docs


@pytest.mark.django_db
def test_a_group_gets_a_rule_on_the_new_area_through_the_api(probe_area, admin, client_as):
    response = client_as(admin).post(
        "/api/cp/group",
        {"name": "Probe desk", "rules": [{"area": PROBE, "actions": ["read"]}]},
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    assert [rule["area"] for rule in response.json()["rules"]] == [PROBE]


def test_an_area_taken_out_again_leaves_no_trace(probe_area):
    unregister(PROBE)
    _rebuild_urls()
    try:
        assert not is_area(PROBE)
        assert PROBE not in area_apis()
    finally:
        register(probe_area)
