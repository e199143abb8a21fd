"""Trigram indexes for the users list's search on PostgreSQL, so a search that matches few
users reads them from an index instead of walking the whole table.

The search is ``icontains``, which Django writes as ``UPPER(column::text) LIKE
UPPER('%term%')``; a ``gin_trgm_ops`` index on ``UPPER(column)`` answers that for any
term of three characters or more. It needs the ``pg_trgm`` extension: it is created when
the database lets this role create it (it is a trusted extension from PostgreSQL 13, so a
database owner may), and otherwise the indexes are skipped with a note and the search
works as before, only slower on a large table.

Both operations do nothing on any other database (SQLite has no such index; its search
scans, which is fine at the sizes SQLite serves). The indexes are not in the models'
state: they are an access path, not part of the schema the code relies on."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import DatabaseError, migrations, transaction

SEARCH_INDEXES = {
    "user_email_trgm_idx": "email",
    "user_name_trgm_idx": "name",
}


def _trigram_installed(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


class TrigramExtensionIfPossible(TrigramExtension):
    """``CREATE EXTENSION pg_trgm`` on PostgreSQL when it is available and this role may
    create it; a note otherwise. Never dropped on the way back: other things may use it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or _trigram_installed(connection):
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
            available = cursor.fetchone() is not None
        if not available:
            print("\n  pg_trgm is not available on this server: users search without trigrams.")
            return
        try:
            with transaction.atomic(using=connection.alias):  # a savepoint: a refusal is kept
                super().database_forwards(app_label, schema_editor, from_state, to_state)
        except DatabaseError as error:
            print(f"\n  pg_trgm could not be created ({error}): users search without trigrams.")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


class AddTrigramSearchIndexes(migrations.operations.base.Operation):
    """``CREATE INDEX ... USING gin (UPPER(column) gin_trgm_ops)`` for the searched
    columns, on PostgreSQL with pg_trgm installed only."""

    reversible = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or not _trigram_installed(connection):
            return
        table = schema_editor.quote_name("accounts_user")
        for name, column in SEARCH_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} ON {table} "
                f"USING gin (UPPER({schema_editor.quote_name(column)}) gin_trgm_ops)"
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in SEARCH_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def describe(self):
        return "Trigram search indexes on the users' e-mail and name (PostgreSQL with pg_trgm)"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_users_list_seek_last_login"),
    ]

    operations = [
        TrigramExtensionIfPossible(),
        AddTrigramSearchIndexes(),
    ]
