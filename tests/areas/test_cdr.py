"""Call records are read-only in the panel, and the list filters by customer and date."""

import datetime
import zoneinfo

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from controlpanel.areas.models import CallRecord

from .factories import CallRecordFactory, CustomerFactory


@pytest.fixture
def calls(db):
    acme, globex = CustomerFactory(name="Acme Calls"), CustomerFactory(name="Globex Calls")
    utc = datetime.UTC
    return {
        "acme_march_1": CallRecordFactory(
            customer=acme, start_time=datetime.datetime(2026, 3, 1, 10, tzinfo=utc)
        ),
        "acme_march_5": CallRecordFactory(
            customer=acme, start_time=datetime.datetime(2026, 3, 5, 23, 30, tzinfo=utc)
        ),
        "globex_march_3": CallRecordFactory(
            customer=globex, start_time=datetime.datetime(2026, 3, 3, 12, tzinfo=utc)
        ),
        "acme": acme,
        "globex": globex,
    }


def _listed(response, *records):
    page = response.content.decode()
    return [reverse("cdr-detail", args=[r.pk]) in page for r in records]


@pytest.mark.parametrize("name", ["cdr-create", "cdr-update", "cdr-delete"])
def test_call_records_have_no_write_pages(name):
    with pytest.raises(NoReverseMatch):
        reverse(name, kwargs={"pk": 1}) if name != "cdr-create" else reverse(name)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_call_records_cannot_be_written_through_their_pages(client_as, admin, calls, method):
    record = calls["acme_march_1"]
    client = client_as(admin)

    on_list = getattr(client, method)(reverse("cdr-list"))
    on_detail = getattr(client, method)(reverse("cdr-detail", args=[record.pk]))

    assert (on_list.status_code, on_detail.status_code) == (405, 405)
    assert CallRecord.objects.count() == 3


def test_made_up_write_urls_do_not_exist(client_as, admin, calls):
    record = calls["acme_march_1"]
    client = client_as(admin)

    assert client.post("/cdrs/new/").status_code == 404
    assert client.post(f"/cdrs/{record.pk}/delete/").status_code == 404
    assert client.post(f"/cdrs/{record.pk}/edit/").status_code == 404


def test_the_cdr_pages_offer_no_write_buttons(client_as, admin, calls):
    record = calls["acme_march_1"]
    client = client_as(admin)

    page = client.get(reverse("cdr-detail", args=[record.pk])).content.decode()

    assert "Edit</a>" not in page
    assert "Delete</a>" not in page
    assert "New call record" not in client.get(reverse("cdr-list")).content.decode()


def test_the_list_filters_by_customer(client_as, admin, calls):
    response = client_as(admin).get(reverse("cdr-list"), {"customer": calls["globex"].pk})

    assert _listed(response, calls["globex_march_3"], calls["acme_march_1"]) == [True, False]


def test_the_list_filters_by_date_range(client_as, admin, calls):
    response = client_as(admin).get(
        reverse("cdr-list"), {"date_from": "2026-03-02", "date_to": "2026-03-04"}
    )

    assert _listed(
        response, calls["acme_march_1"], calls["globex_march_3"], calls["acme_march_5"]
    ) == [False, True, False]


def test_the_date_range_is_read_in_the_users_time_zone(client_as, admin, calls):
    # 2026-03-05 23:30 UTC is already 6 March in Tokyo.
    admin.timezone = "Asia/Tokyo"
    admin.save()

    response = client_as(admin).get(
        reverse("cdr-list"), {"date_from": "2026-03-06", "date_to": "2026-03-06"}
    )

    assert _listed(response, calls["acme_march_5"]) == [True]
    local = timezone.localtime(
        calls["acme_march_5"].start_time, zoneinfo.ZoneInfo("Asia/Tokyo")
    ).strftime("%Y-%m-%d %H:%M")
    assert local in response.content.decode()


def test_a_backwards_date_range_is_explained(client_as, admin, calls):
    response = client_as(admin).get(
        reverse("cdr-list"), {"date_from": "2026-03-05", "date_to": "2026-03-01"}
    )

    assert "To: The end date is before the start date." in response.content.decode()


def test_a_malformed_date_is_explained_and_ignored(client_as, admin, calls):
    response = client_as(admin).get(reverse("cdr-list"), {"date_from": "yesterday"})

    assert "From: Enter a valid date." in response.content.decode()
    assert all(_listed(response, calls["acme_march_1"], calls["globex_march_3"]))
