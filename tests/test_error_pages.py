"""The error pages a person may meet (404, 500, an expired form) and the favicon, through
the test client; tests/browser/test_layout.py walks them in Chromium."""

from django.template.loader import get_template
from django.test import Client


def test_a_missing_page_is_a_styled_404_with_the_navigation(client_as, admin):
    response = client_as(admin).get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in body
    assert "Back to the dashboard" in body and 'href="/settings/users/"' in body


def test_the_server_error_page_renders_with_an_empty_context():
    # What Django's server_error view does: no request, no user, no context processors.
    body = get_template("500.html").render({})
    assert "Something went wrong" in body
    assert 'href="/static/css/panel.css"' in body and 'href="/"' in body


def test_a_form_without_its_csrf_token_gets_the_expired_form_page(admin):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    response = browser.post("/customers/new/", {"name": "Northwind Voice"})
    body = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in body and "sent from another site" in body
    assert 'href="/customers/new/"' in body  # reload the form and try again


def test_favicon_ico_leads_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200
