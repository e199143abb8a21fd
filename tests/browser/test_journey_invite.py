"""Journey: an administrator invites a new colleague, who opens the e-mailed link in a
real browser, chooses a password and signs in with it."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHOSEN = "a long invited passphrase"


def test_invited_user_sets_a_password_from_the_email_and_signs_in(
    page, new_page, sign_in, admin, mailbox, screenshot
):
    sign_in(admin)
    page.goto("/settings/users/new/")
    page.fill("input[name=name]", "Ivy Invited")
    page.fill("input[name=email]", "ivy@example.com")
    page.check("input[name=role][value=user]")
    page.click("main form button.primary")
    page.wait_for_url("**/settings/users/*/")
    assert "invitation" in page.content().lower()

    link = mailbox.link_to("ivy@example.com")
    ivy = new_page()
    ivy.goto(link)
    assert "/invite/" in ivy.url and link.rstrip("/").split("/")[-1] not in ivy.url
    ivy.fill("input[name=new_password1]", CHOSEN)
    ivy.fill("input[name=new_password2]", CHOSEN)
    screenshot_path = "tests/browser/screenshots/invite-accept.png"
    ivy.screenshot(path=screenshot_path, full_page=True)
    ivy.click("main form button[type=submit]")
    ivy.wait_for_url("**/accounts/login/")
    assert "Your password is set" in ivy.content()
    ivy.fill("input[name=email]", "ivy@example.com")
    ivy.fill("input[name=password]", CHOSEN)
    ivy.click("button[type=submit]")
    ivy.wait_for_url(lambda url: "/accounts/login/" not in url)
    assert "Welcome, Ivy Invited" in ivy.content()
