"""Indexes the users list sorts (name, last sign-in) and filters (role, deactivated,
invited) by at 100,000 users.

``user_last_login_idx`` is written by hand: PostgreSQL needs ``NULLS FIRST`` for the index to
serve "oldest sign-in first, never signed in before everyone", and SQLite refuses the words
in an index but sorts NULL first anyway. One index serves both directions (scanned
backwards for "most recent first, never signed in last")."""

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models

LAST_LOGIN_INDEX = "user_last_login_idx"


def create_last_login_index(apps, schema_editor):
    nulls = " NULLS FIRST" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f'CREATE INDEX "{LAST_LOGIN_INDEX}" ON "accounts_user" ("last_login" ASC{nulls}, "id" ASC)'
    )


def drop_last_login_index(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX "{LAST_LOGIN_INDEX}"')


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_access_stamp"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.text.Lower(
                    django.db.models.functions.comparison.Coalesce(
                        django.db.models.functions.comparison.NullIf("name", models.Value("")),
                        "email",
                        output_field=models.CharField(),
                    )
                ),
                models.F("id"),
                name="user_display_name_idx",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="user",
                    index=models.Index(
                        models.OrderBy(models.F("last_login"), nulls_first=True),
                        models.OrderBy(models.F("id")),
                        name=LAST_LOGIN_INDEX,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(create_last_login_index, drop_last_login_index),
            ],
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["role", "email"], name="user_role_email_idx"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                condition=models.Q(("is_active", False)),
                fields=["email"],
                name="user_deactivated_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                condition=models.Q(("last_login__isnull", True), ("password__startswith", "!")),
                fields=["email"],
                name="user_never_signed_in_idx",
            ),
        ),
    ]
