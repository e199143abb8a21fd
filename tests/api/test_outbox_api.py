"""The outbox area over the API: read-only, scoped like the page, no mail text."""

from tests.outbox.test_outbox import _reader, failed_mails  # noqa: F401 (a fixture)


def test_the_api_lists_the_outbox_in_scope(api_as, failed_mails):  # noqa: F811 (fixture)
    rita = _reader(reseller=failed_mails["acme"])
    response = api_as(rita).get("/api/cp/outbox?state=failed")
    assert response.status_code == 200
    assert [row["to"] for row in response.json()["results"]] == ["arne@acme.example"]
    assert "body" not in response.json()["results"][0]
    assert api_as(rita).get("/api/cp/outbox?state=lost").status_code == 400


def test_a_page_past_the_end_is_a_clear_400(api_as, admin):  # found by the API fuzzer
    response = api_as(admin).get("/api/cp/outbox?page=7")
    assert response.status_code == 400
    assert response.json()["errors"]["page"][0].startswith("That page has no results")
