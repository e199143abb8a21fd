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

from django.db import connections, models, router
from django.utils import timezone

# Values COPY takes as Python holds them; other fields' values go through the field's own
# conversion (JSON, addresses).
_AS_HELD = (
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,
    models.ForeignKey,
    models.DateTimeField,
)


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


def insert_rows(
    table: str, columns: Sequence[str], rows: Iterable[Sequence], *, using: str = "default"
) -> None:
    """Plain rows into a table named directly (a temporary table of the caller's): COPY on
    PostgreSQL, one ``executemany`` elsewhere."""
    connection = connections[using]
    quote = connection.ops.quote_name
    quoted = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {quote(table)} ({quoted}) VALUES ({marks})"  # noqa: S608 (quoted names)
            cursor.executemany(sql, rows)


def insert_new(model, rows: Sequence[dict], *, using: str | None = None) -> list[int]:
    """Create one ``model`` row per dict (attribute names to values, as ``model(**row)``
    takes them) and return their new primary keys, in order. Fields a row leaves out get
    their default (a callable one called per row) and ``auto_now``/``auto_now_add`` fields
    the current time, as ``bulk_create`` would give them; like ``bulk_create``, no
    ``save()`` runs and no signal is sent. On PostgreSQL the keys are drawn from the
    table's sequence first and the rows go in with ``COPY``, without building a model
    instance per row; elsewhere this is ``bulk_create``."""
    db = using or router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql":
        created = model._base_manager.using(db).bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in created]
    if not rows:
        return []
    now = timezone.now()
    pk = model._meta.pk
    fields = [field for field in model._meta.concrete_fields if field is not pk]
    plans = []  # (attname, field or None when COPY takes the value as held)
    for field in fields:
        held = isinstance(field, _AS_HELD)
        plans.append((field.attname, None if held else field))
    constant = {}  # every default but a callable one: worked out once
    stamps = {}  # auto_now and auto_now_add: the current time, whatever the row says
    drawn = []  # fields whose default is a callable, called per row
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            stamps[field.attname] = now
        elif field.has_default() and callable(field.default):
            drawn.append(field)
        else:
            constant[field.attname] = field.get_default()  # as model(**row) would have it
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]

    def values():
        for new_id, row in zip(ids, rows, strict=True):
            full = {**constant, **row, **stamps}
            for field in drawn:
                if field.attname not in row:
                    full[field.attname] = field.get_default()
            out = [new_id]
            for name, field in plans:
                value = full[name]
                out.append(value if field is None else field.get_db_prep_save(value, connection))
            yield out

    insert_values(model, [pk.attname, *(name for name, _field in plans)], values(), using=db)
    return ids
