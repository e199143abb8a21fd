"""Each page answers only the methods it has: anything else is 405."""

import pytest
from django.urls import reverse

from .conftest import ROW_OF_AREA


@pytest.mark.parametrize("area", list(ROW_OF_AREA))
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_lists_and_detail_pages_only_answer_get(client_as, admin, mine, area, method):
    client = client_as(admin)

    on_list = getattr(client, method)(reverse(f"{area}-list"))
    on_detail = getattr(client, method)(reverse(f"{area}-detail", args=[mine.row(area).pk]))

    assert (on_list.status_code, on_detail.status_code) == (405, 405)


@pytest.mark.parametrize("suffix", ["update", "delete"])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_forms_only_answer_get_and_post(client_as, admin, mine, suffix, method):
    response = getattr(client_as(admin), method)(
        reverse(f"customer-{suffix}", args=[mine.customer.pk])
    )

    assert response.status_code == 405


def test_head_is_answered_like_get(client_as, admin, mine):
    response = client_as(admin).head(reverse("customer-list"))

    assert response.status_code == 200


@pytest.mark.parametrize("method", ["put", "delete"])
def test_the_create_page_only_answers_get_and_post(client_as, admin, method):
    response = getattr(client_as(admin), method)(reverse("carrier-create"))

    assert response.status_code == 405
