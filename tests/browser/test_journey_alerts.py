"""Journey: a billing clerk asks for money alerts on their profile; an administrator
charges a customer below its low-balance threshold while the mail server is down; the
alert waits in the outbox with the error; once the server is back the administrator sends
it again, the clerk reads it and opens the customer; a payment brings the balance back."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from controlpanel.kit.areas import mask_of
from permissions.models import Rule
from tests.areas.factories import CustomerFactory, InvoiceFactory
from tests.factories import GroupFactory, ResellerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/w17")
REFUSING = "tests.outbox.backends.RefusingBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def test_a_low_balance_alert_reaches_the_clerk_who_opted_in_through_the_outbox(
    page, new_page, sign_in, admin, mailbox, settings, password
):
    SHOTS.mkdir(exist_ok=True)
    acme = ResellerFactory(name="Acme Telecom")
    billing = GroupFactory(name="Billing", defaults=0)
    Rule.objects.create(group=billing, area="billing", actions=mask_of(["read"]))
    Rule.objects.create(group=billing, area="customer", actions=mask_of(["read"]))
    clerk = UserFactory(
        email="bea@example.com",
        name="Bea Billing",
        groups=[billing],
        email_verified_at=timezone.now(),
    )
    customer = CustomerFactory(
        name="Northwind Calls",
        reseller=acme,
        credit_limit=Decimal("100.00"),
        balance=Decimal("500.00"),
    )
    invoice = InvoiceFactory(customer=customer, number="INV-2026-0100", amount=Decimal("100.00"))

    # The clerk opts in on her profile.
    bea = new_page()
    bea.goto("/accounts/login/")
    bea.fill("input[name=email]", clerk.email)
    bea.fill("input[name=password]", password)
    bea.click("button[type=submit]")
    bea.wait_for_url(lambda url: "/accounts/login/" not in url)
    bea.goto("/accounts/profile/")
    bea.check("input[name=money_alerts]")
    bea.click("main form button.primary")
    bea.wait_for_url("**/accounts/profile/")
    assert "Your profile was saved" in bea.content()
    assert bea.is_checked("input[name=money_alerts]")

    # The mail server is down while the administrator charges the customer.
    settings.EMAIL_BACKEND = REFUSING
    sign_in(admin)
    page.goto(f"/customers/{customer.pk}/edit/")
    page.fill("input[name=low_balance_threshold]", "50.00")
    page.fill("input[name=balance]", "20.00")
    page.click("main form button.primary")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    assert "20.00" in page.content()
    assert mailbox.to(clerk.email) == []

    # The alert waits in the outbox, with the server's error.
    page.click("nav >> text=Outbox")
    page.wait_for_url("**/settings/outbox/")
    row = page.locator("tr", has_text="bea@example.com")
    assert "Low balance: Northwind Calls is below 50.00" in row.inner_text()
    assert "waiting to retry" in row.inner_text()
    assert "SMTPConnectError" in row.inner_text()
    page.screenshot(path=str(SHOTS / "outbox-waiting.png"), full_page=True)

    # The server is back; the administrator sends it again.
    settings.EMAIL_BACKEND = LOCMEM
    row.locator("button:has-text('Send again')").click()
    page.wait_for_url("**/settings/outbox/")
    assert "will be sent again" in page.content()
    row = page.locator("tr", has_text="bea@example.com")
    assert "sent" in row.locator("td").nth(4).inner_text()
    page.screenshot(path=str(SHOTS / "outbox-sent.png"), full_page=True)

    # The clerk reads the alert and opens the customer from its link.
    alert = mailbox.last_to(clerk.email)
    assert alert.subject == "Low balance: Northwind Calls is below 50.00"
    assert "Balance:   20.00" in alert.body
    bea.goto(mailbox.link_to(clerk.email))
    assert "Northwind Calls" in bea.content() and "20.00" in bea.content()

    # A payment on the invoice page brings the balance back above the threshold.
    page.goto(f"/billing/{invoice.pk}/")
    page.fill("input[name=paid_on]", "2026-02-10")
    page.fill("input[name=amount]", "40.00")
    page.fill("input[name=reference]", "WIRE-42")
    page.click("form:has(input[name=amount]) button[type=submit]")
    page.wait_for_url(f"**/billing/{invoice.pk}/")
    customer.refresh_from_db()
    assert customer.balance == Decimal("60.00") and not customer.low_balance_alert_active
    assert len(mailbox.to(clerk.email)) == 1  # a recovery is not an alert
