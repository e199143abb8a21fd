"""An object's page links to its history in the audit log."""

import pytest

from controlpanel.areas.models import Carrier

pytestmark = pytest.mark.django_db


def test_carrier_page_links_to_its_audit_history_for_an_administrator(client_as, admin):
    carrier = Carrier.objects.create(name="Tier One Voice", contact_email="noc@tier1.example")
    page = client_as(admin).get(f"/carriers/{carrier.pk}/").content.decode()
    assert f'href="/settings/audit/?object_type=carrier&amp;object_id={carrier.pk}"' in page


def test_no_history_link_without_audit_log_read(client_as, staff):
    carrier = Carrier.objects.create(name="Tier One Voice", contact_email="noc@tier1.example")
    page = client_as(staff).get(f"/carriers/{carrier.pk}/").content.decode()
    assert "History" not in page
