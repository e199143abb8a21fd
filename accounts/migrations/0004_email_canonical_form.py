import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

import accounts.identity


def make_emails_canonical(apps, schema_editor):
    """Store every address in canonical form (accounts.identity), or stop with the list of
    rows that have none (look-alikes) or would become the same identity as another."""
    User = apps.get_model("accounts", "User")
    db = schema_editor.connection.alias
    rows = list(User.objects.using(db).order_by("pk").values_list("pk", "email"))
    problems = accounts.identity.canonical_problems(rows)
    if problems:
        raise RuntimeError(
            accounts.identity.COLLISIONS_FOUND.format(
                problems="\n".join(f"- {line}" for line in problems)
            )
        )
    for pk, email in rows:
        canonical = accounts.identity.canonical_email(email)
        if canonical != email:
            User.objects.using(db).filter(pk=pk).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_apitoken"),
        ("resellers", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(make_emails_canonical, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("email", django.db.models.functions.text.Lower("email")),
                    django.db.models.lookups.Exact(
                        django.db.models.functions.text.Length("email"),
                        accounts.identity.OctetLength("email"),
                    ),
                ),
                name="user_email_canonical",
                violation_error_message=(
                    "E-mail addresses are stored in canonical form: ASCII and lower case."
                ),
            ),
        ),
    ]
