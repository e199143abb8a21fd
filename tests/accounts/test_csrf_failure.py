"""A form refused by the CSRF check says what happened and what to do, in the panel's
own page, instead of Django's bare "CSRF verification failed"."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_form_without_a_valid_csrf_token_gets_a_page_that_says_what_to_do(staff, password):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")  # the CSRF cookie is set, but the form's token is stale
    response = browser.post(
        "/accounts/login/",
        {"email": staff.email, "password": password, "csrfmiddlewaretoken": "x" * 64},
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in page
    assert "nothing was changed" in page and "Reload the form and try again" in page
    assert "CSRF verification failed" not in page
    assert "_auth_user_id" not in browser.session


def test_the_csrf_failure_page_saves_nothing_and_leads_back(client, admin):
    client.force_login(admin)
    client.handler.enforce_csrf_checks = True
    response = client.post("/accounts/profile/", {"name": "Changed", "timezone": "UTC"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in page
    assert "Back to the dashboard" in page  # the navigation and a way back (issue 13)
    admin.refresh_from_db()
    assert admin.name == "Ada Admin"
