"""The last-sign-in sort as a value that is never NULL, so the users list can page by
keyset (``controlpanel.kit.keyset``): "never signed in" is 0001-01-01, the oldest time.
The index on (that value, id) replaces ``user_last_login_idx`` (``last_login NULLS FIRST,
id``), which a seek cannot use past the NULLs.

The old index was written by hand (migration 0006: PostgreSQL needs ``NULLS FIRST``,
SQLite refuses the words), so going back re-creates it the same way."""

import datetime

import django.db.models.functions.comparison
from django.db import migrations, models

OLD_INDEX = "user_last_login_idx"


def drop_old_index(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX "{OLD_INDEX}"')


def create_old_index(apps, schema_editor):
    nulls = " NULLS FIRST" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f'CREATE INDEX "{OLD_INDEX}" ON "accounts_user" ("last_login" ASC{nulls}, "id" ASC)'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_user_money_alerts_opt_in"),
        ("resellers", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name="user",
                    name=OLD_INDEX,
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_old_index, create_old_index),
            ],
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.comparison.Coalesce(
                    "last_login",
                    models.Value(
                        datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.UTC),
                        output_field=models.DateTimeField(),
                    ),
                ),
                models.F("id"),
                name="user_last_login_key_idx",
            ),
        ),
    ]
