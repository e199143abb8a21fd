"""Inserting many rows at COPY speed on PostgreSQL.

``bulk_create`` builds a model instance per row and prepares every value through its
field, which costs more than the database's work for a bulk import's tens of thousands of
memberships or audit entries. ``insert_values`` takes plain values and, on PostgreSQL,
sends them with ``COPY``; elsewhere it falls back to ``bulk_create``. Like
``bulk_create`` it sends no signals; it also bypasses the model's own queryset, so a
caller whose rows need that queryset's side effects (``permissions.models``' guarded
querysets bump access versions) must not use it, or must show why none are needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, router


def insert_values(
    model, columns: Sequence[str], rows: Iterable[Sequence], *, using: str | None = None
) -> None:
    """Insert ``rows`` into ``model``'s table: each row holds the values of ``columns``
    (attribute names, ``user_id`` for a foreign key) as the database takes them (strings,
    numbers, aware datetimes, ids, None; a field's ``get_db_prep_save`` for anything
    else). No primary key comes back."""
    db = using or router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql":
        model._base_manager.using(db).bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows]
        )
        return
    names = {field.attname: field.column for field in model._meta.concrete_fields}
    quoted = ", ".join(connection.ops.quote_name(names[column]) for column in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
