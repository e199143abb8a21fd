"""Demo business data for ``manage.py seed_demo``: two resellers and a believable carrier
business around them. Idempotent (every row is found by its natural key before it is
made) and deterministic (one seeded random generator); call records are bulk-created
once."""

from __future__ import annotations

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from resellers.models import Reseller

from .models import (
    CallRecord,
    Carrier,
    Contact,
    Customer,
    Invoice,
    Payment,
    RateCard,
    Route,
    Ticket,
    TicketReply,
)

RANDOM_SEED = 20260301
CALL_RECORDS = 3000

NORTHWIND, BLUEWAVE = "Northwind Voice", "Bluewave Telecom"
RESELLERS = [(NORTHWIND, "ops@northwind.example"), (BLUEWAVE, "noc@bluewave.example")]

# (e-mail, name, reseller, shared ticket): one reseller-linked demo login per reseller.
RESELLER_USERS = [
    ("nora@northwind.example", "Nora Lindgren", NORTHWIND, True),
    ("ben@bluewave.example", "Ben Adeyemi", BLUEWAVE, False),
]

# (name, reseller, status, credit limit)
CUSTOMERS = [
    ("Harbourline Logistics", NORTHWIND, "active", "5000.00"),
    ("Kestrel Dental Group", NORTHWIND, "active", "1500.00"),
    ("Oakridge Property Services", NORTHWIND, "active", "2500.00"),
    ("Pinecrest Travel", NORTHWIND, "suspended", "800.00"),
    ("Saltmarsh Insurance", BLUEWAVE, "active", "10000.00"),
    ("Tidewater Clinics", BLUEWAVE, "active", "3000.00"),
    ("Quayside Legal LLP", BLUEWAVE, "active", "2000.00"),
    ("Redfern Hotels", BLUEWAVE, "closed", "0.00"),
    ("Atlas Contact Centres", None, "active", "25000.00"),
    ("Brightwell Energy", None, "active", "12000.00"),
    ("Copperfield Retail", None, "active", "6000.00"),
    ("Driftwood Media", None, "suspended", "1000.00"),
]

# (name, status, contact e-mail)
CARRIERS = [
    ("Meridian Wholesale", "active", "noc@meridian-wholesale.example"),
    ("Helix Carrier Services", "active", "support@helix-carrier.example"),
    ("Polar Route Networks", "testing", "interconnect@polarroute.example"),
    ("Sable Transit", "inactive", "ops@sabletransit.example"),
]

# (name, currency, direction, reseller)
RATE_CARDS = [
    ("Wholesale Outbound USD", "USD", "outbound", None),
    ("Premium Outbound EUR", "EUR", "outbound", None),
    ("UK Inbound DIDs", "GBP", "inbound", None),
    ("Northwind Retail", "GBP", "outbound", NORTHWIND),
    ("Bluewave Retail", "EUR", "outbound", BLUEWAVE),
]

# Destination prefixes with a per-minute price, for routes and call costs.
DESTINATIONS = {
    "44": Decimal("0.0120"),
    "4420": Decimal("0.0095"),
    "1": Decimal("0.0080"),
    "49": Decimal("0.0140"),
    "33": Decimal("0.0150"),
    "34": Decimal("0.0130"),
    "61": Decimal("0.0310"),
    "91": Decimal("0.0220"),
}

CONTACT_PEOPLE = [
    ("Amelia Hart", "billing"),
    ("Tomasz Nowak", "technical"),
    ("Priya Raman", "commercial"),
    ("Lucas Moreau", "technical"),
    ("Hannah Becker", "billing"),
    ("Diego Alvarez", "other"),
]

TICKETS = [
    (
        "Calls to Germany fail with 503",
        "Since this morning about a third of calls to +49 "
        "fail with SIP 503 from the upstream. Sample call at 09:14 UTC.",
        "open",
    ),
    (
        "One-way audio on UK mobiles",
        "Callers report they cannot hear the called party "
        "on some UK mobile numbers. NAT on our side was checked.",
        "pending",
    ),
    (
        "Invoice does not match CDRs",
        "Last month's invoice is about 4% higher than our "
        "own CDR totals. Could you send the rated CDR export?",
        "open",
    ),
    ("Add a new DID range", "Please add 20 DIDs in London (020) to our inbound card.", "closed"),
]
REPLIES = [
    "Thanks for the report, we are looking into it with the carrier.",
    "The upstream confirmed a faulty trunk; traffic was moved to the backup route.",
    "Could you confirm whether this still happens for you?",
]


def _rng(*parts) -> random.Random:
    """A generator seeded by what it is for, so each row's values are the same on every
    run whatever else the run did (or skipped)."""
    return random.Random(":".join(map(str, (RANDOM_SEED, *parts))))


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:16]


def seed_resellers() -> dict[str, Reseller]:
    resellers = {}
    for name, email in RESELLERS:
        reseller = Reseller.objects.filter(name__iexact=name).first()
        if reseller is None:
            reseller = Reseller(name=name, email=email)
            reseller.full_clean()
            reseller.save()
        resellers[name] = reseller
    return resellers


def seed_business(*, resellers: dict[str, Reseller], ticket_authors: dict) -> dict[str, int]:
    """Customers with contacts, carriers, rate cards, routes, invoices with payments,
    call records and tickets with replies. ``ticket_authors`` maps a reseller name (None
    for the operator's own customers) to the user who raises their tickets."""
    today = timezone.localdate()

    carriers = [
        Carrier.objects.get_or_create(
            name=name, defaults={"status": status, "contact_email": email}
        )[0]
        for name, status, email in CARRIERS
    ]
    cards = {
        name: RateCard.objects.get_or_create(
            name=name,
            defaults={
                "currency": currency,
                "direction": direction,
                "reseller": resellers.get(owner) if owner else None,
            },
        )[0]
        for name, currency, direction, owner in RATE_CARDS
    }

    customers = []
    for index, (name, owner, status, credit) in enumerate(CUSTOMERS):
        rng = _rng("customer", name)
        customer, _ = Customer.objects.get_or_create(
            name=name,
            defaults={
                "reseller": resellers[owner] if owner else None,
                "status": status,
                "credit_limit": Decimal(credit),
                "balance": _money(Decimal(rng.uniform(-400, 2500))),
            },
        )
        customers.append(customer)
        domain = f"{_slug(name)}.example"
        for person, role in rng.sample(CONTACT_PEOPLE, 2):
            first = person.split()[0].lower()
            Contact.objects.get_or_create(
                customer=customer,
                email=f"{first}@{domain}",
                defaults={
                    "name": person,
                    "role": role,
                    "phone": f"+44 20 7946 {rng.randint(0, 9999):04d}",
                },
            )
        card = cards[
            "Northwind Retail"
            if owner == NORTHWIND
            else "Bluewave Retail"
            if owner == BLUEWAVE
            else "Wholesale Outbound USD"
        ]
        for priority, prefix in enumerate(rng.sample(sorted(DESTINATIONS), 3), start=1):
            Route.objects.get_or_create(
                customer=customer,
                prefix=prefix,
                carrier=carriers[priority % 3],
                defaults={"rate_card": card, "priority": priority},
            )
        _seed_invoices(rng, customer, index, card.currency, today)

    _seed_call_records(customers)
    _seed_tickets(customers, ticket_authors)
    return {
        "customers": len(customers),
        "call records": CallRecord.objects.filter(customer__in=customers).count(),
    }


def _seed_invoices(rng, customer, index: int, currency: str, today) -> None:
    for months_ago in (3, 2, 1):
        first_of_month = today.replace(day=1) - datetime.timedelta(days=28 * months_ago)
        amount = _money(Decimal(rng.uniform(120, 4800)))
        invoice, _ = Invoice.objects.get_or_create(
            number=f"INV-{index + 1:02d}-{4 - months_ago}",
            defaults={
                "customer": customer,
                "issue_date": first_of_month.replace(day=1),
                "amount": amount,
                "currency": currency,
                "status": Invoice.Status.PAID if months_ago > 1 else Invoice.Status.ISSUED,
            },
        )
        if invoice.status == Invoice.Status.PAID:
            paid = invoice.amount
        elif rng.random() < 0.5:
            paid = _money(invoice.amount * Decimal("0.4"))
        else:
            continue
        Payment.objects.get_or_create(
            invoice=invoice,
            reference=f"PAY-{invoice.number}",
            defaults={
                "paid_on": invoice.issue_date + datetime.timedelta(days=rng.randint(5, 25)),
                "amount": paid,
            },
        )


def _seed_call_records(customers) -> None:
    if CallRecord.objects.filter(customer__in=customers).exists():
        return
    rng = _rng("call records")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    prefixes = sorted(DESTINATIONS)
    active = [c for c in customers if c.status != Customer.Status.CLOSED]
    records = []
    for _ in range(CALL_RECORDS):
        customer = rng.choice(active)
        prefix = rng.choice(prefixes)
        answered = rng.random() > 0.15
        duration = int(rng.expovariate(1 / 180)) if answered else 0
        cost = (DESTINATIONS[prefix] * Decimal(duration) / 60).quantize(Decimal("0.0001"))
        records.append(
            CallRecord(
                customer=customer,
                start_time=now - datetime.timedelta(seconds=rng.randint(0, 30 * 24 * 3600)),
                caller=f"4420{rng.randint(30000000, 39999999)}",
                callee=f"{prefix}{rng.randint(10**7, 10**9 - 1)}",
                duration=duration,
                cost=cost,
            )
        )
    CallRecord.objects.bulk_create(records, batch_size=1000)


def _seed_tickets(customers, ticket_authors: dict) -> None:
    for customer in customers[::2]:
        subject, body, status = TICKETS[customers.index(customer) // 2 % len(TICKETS)]
        rng = _rng("ticket", customer.name, subject)
        owner = customer.reseller.name if customer.reseller_id else None
        author = ticket_authors.get(owner)
        ticket, _ = Ticket.objects.get_or_create(
            customer=customer,
            subject=subject,
            defaults={"body": body, "status": status, "raised_by": author},
        )
        for text in REPLIES[: rng.randint(1, len(REPLIES))]:
            TicketReply.objects.get_or_create(
                ticket=ticket, body=text, defaults={"author": ticket_authors.get(None)}
            )
