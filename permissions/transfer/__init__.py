"""Export and import of the whole access configuration as JSON (ACCESS_MODEL.md,
"Command-line contract"; the format is documented in docs/commands.md).

Both stream, so memory stays flat however many users the file holds. ``validate`` reads
the file with ``ijson`` (``reading``) and checks every value with the pages' own cleaning
(``validation``), reporting every error with its place in the file; ``import_access``
then reads the users a second time, a batch at a time, compares them with the database
and writes the differences in bulk through the shared services (``writing``), all in
one transaction. ``export_access`` streams the configuration out (``export``).
"""

from __future__ import annotations

import ijson
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from accounts.models import Role
from controlpanel.audit import log as audit
from controlpanel.kit.progress import NoProgress
from resellers.models import Reseller

from ..models import Group, Rule
from .export import DEFAULT_EXPORT_BATCH, ExportResult, export_access
from .reading import KINDS, ImportRefused, Source, UnreadableFile, json_error, members, users
from .reading import _Reader as Reader
from .validation import (
    USER_KEYS,
    DatabaseFacts,
    Document,
    Validator,
    unknown_action_message,
    unknown_area_message,
)
from .writing import (
    Outcome,
    _create_users,
    _plan_groups,
    _plan_resellers,
    _plan_users,
    _update_users,
    _write_groups,
    _write_reseller,
    chunks,
)

__all__ = [
    "DEFAULT_EXPORT_BATCH",
    "FILE_CHANGED",
    "USER_KEYS",
    "DatabaseFacts",
    "ExportResult",
    "ImportRefused",
    "Source",
    "UnreadableFile",
    "export_access",
    "import_access",
    "load_facts",
    "unknown_action_message",
    "unknown_area_message",
    "validate",
]

FILE_CHANGED = (
    "the file changed while it was being imported; nothing was changed, run the import again"
)
DEFAULT_LOOKUP_BATCH = 1000


def load_facts(*, lock: bool = False) -> DatabaseFacts:
    """Read the facts validation needs. With ``lock``, the active administrators' rows
    stay locked until the transaction ends, so a concurrent change cannot remove the last
    one while the import decides (a no-op on SQLite, which serialises writes)."""
    administrators = get_user_model().objects.filter(role=Role.ADMINISTRATOR, is_active=True)
    if lock:
        administrators = administrators.select_for_update()
    return DatabaseFacts(
        group_names=frozenset(n.lower() for n in Group.objects.values_list("name", flat=True)),
        reseller_names=frozenset(
            n.lower() for n in Reseller.objects.values_list("name", flat=True)
        ),
        # Counted, not kept (a million-user panel may have tens of thousands): the check
        # asks the database about the file's administrators only when it must.
        active_administrators=(
            sum(1 for _pk in administrators.values_list("pk", flat=True).iterator())
            if lock
            else administrators.count()
        ),
    )


def _refresh_statistics() -> None:
    """On PostgreSQL, ANALYZE the tables the import looks users up in, a batch at a time.
    Without statistics (a panel just filled by an earlier import, with autovacuum off or
    not yet round) the planner takes a lookup of 1,000 users' memberships for a scan of
    the whole table: measured at 1,000,000 users, half a second a batch instead of a few
    milliseconds, a thousand times over. ANALYZE reads a sample, about a second there."""
    if connection.vendor != "postgresql":
        return
    User = get_user_model()
    tables = (User._meta.db_table, Group.members.through._meta.db_table, Rule._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def _no_progress(label: str, total: int, unit: str = "") -> NoProgress:
    return NoProgress()


def validate(source, facts: DatabaseFacts, *, progress=_no_progress) -> Document:
    """The document, or ImportRefused listing every error with its place in the file.
    ``source``: the JSON text, a ``Path`` or a ``Source``."""
    source = Source.of(source)
    checker = Validator(facts)
    reader = Reader(source)
    bar = progress("Checking", source.size, " MiB" if source.text is None else "")
    try:
        checker.read(members(reader), tick=lambda: bar.update(reader.position))
        bar.update(source.size)
    except ijson.JSONError as error:
        raise json_error(source, error) from None
    finally:
        bar.finish()
    if checker.errors:
        raise ImportRefused(checker.errors)
    return Document(
        resellers=tuple(checker.reseller_specs),
        groups=tuple(checker.group_specs),
        user_count=checker.user_count,
        file_groups=frozenset(checker.file_groups),
        file_resellers=frozenset(checker.file_resellers),
    )


def _user_specs(source: Source, document: Document, facts: DatabaseFacts):
    """The file's users as specs, read again one at a time. They were all valid a moment
    ago; one that is not now means the file changed in between."""
    checker = Validator(
        facts, file_groups=document.file_groups, file_resellers=document.file_resellers
    )
    count = 0
    try:
        for index, item in enumerate(users(Reader(source))):
            if (spec := checker.user(item, f"users[{index}]")) is None:
                raise ImportRefused([FILE_CHANGED])
            count += 1
            yield spec
    except ijson.JSONError:
        raise ImportRefused([FILE_CHANGED]) from None
    if count != document.user_count or len(set(source.digests)) > 1:
        raise ImportRefused([FILE_CHANGED])


def import_access(
    source,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_LOOKUP_BATCH,
    progress=_no_progress,
    record_changes: bool = True,
) -> Outcome:
    """Validate, compare and (unless ``dry_run``) write, all in one transaction: on any
    error nothing changes. Raises ImportRefused with every error and its place, or
    UnreadableFile. ``source``: the JSON text, a ``Path`` or a ``Source``; ``progress``:
    ``(label, total, unit) -> bar`` (see controlpanel.kit.progress)."""
    source = Source.of(source)
    outcome = Outcome(record_changes=record_changes)
    with transaction.atomic():
        facts = load_facts(lock=not dry_run)
        _refresh_statistics()
        document = validate(source, facts, progress=progress)
        resellers = _plan_resellers(document, outcome)
        groups = _plan_groups(document, outcome)
        if not dry_run:
            for item in resellers:
                _write_reseller(item)
            _write_groups(groups)
        group_ids = {name.lower(): pk for pk, name in Group.objects.values_list("pk", "name")}
        reseller_ids = {name.lower(): pk for pk, name in Reseller.objects.values_list("pk", "name")}
        bar = progress("Comparing users" if dry_run else "Importing users", document.user_count)
        try:
            for batch in chunks(_user_specs(source, document, facts), batch_size):
                pending = _plan_users(batch, outcome)
                if not dry_run:
                    if changed := [item for item in pending if item.existing is not None]:
                        _update_users(changed, group_ids, reseller_ids)
                    if new := [item for item in pending if item.existing is None]:
                        _create_users(new, group_ids, reseller_ids, batch_size)
                bar.advance(len(batch))
        finally:
            bar.finish()
        if not dry_run:
            audit.record(
                audit.Action.IMPORT,
                actor_label="import_access",
                message="; ".join(outcome.summary_lines()),
                changes={kind: dict(outcome.counts[kind]) for kind in KINDS},
            )
    return outcome
