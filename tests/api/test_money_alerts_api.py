"""A balance changed through the API alerts as one changed on the page does."""

from tests.areas.test_money_alerts import _alert_recipients, world  # noqa: F401 (a fixture)


def test_the_api_triggers_the_alert(api_as, world):  # noqa: F811 (fixture)
    response = api_as(world["boss"]).patch(
        f"/api/cp/customer/{world['customer'].pk}", {"balance": "5.00"}
    )
    assert response.status_code == 200, response.content
    assert len(_alert_recipients("Low balance")) == 4
