import os
import tempfile
from functools import partial
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from controlpanel.kit.progress import ProgressBar, wanted
from permissions.transfer import export_access


class Command(BaseCommand):
    help = (
        "Write the whole access configuration (resellers, groups, users) as JSON, to FILE "
        "or to standard output. Passwords are never written."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", metavar="FILE", help="where to write (default: standard output)"
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="show a progress bar on stderr even when it is not a terminal",
        )

    def handle(self, *args, file=None, progress=False, **options):
        # A bar costs one more query (the number of users), so only when one is shown.
        self.progress = self._bar if wanted(self.stderr, progress) else None
        if file in (None, "-"):
            result = export_access(partial(self.stdout.write, ending=""), progress=self.progress)
        else:
            result = self._export_to(Path(file))
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if file not in (None, "-"):
            counts = result.counts
            self.stdout.write(
                f"Exported {counts['resellers']} resellers, {counts['groups']} groups and "
                f"{counts['users']} users to {file}."
            )

    def _bar(self, label, total):
        return ProgressBar(self.stderr, total, label)

    def _export_to(self, path: Path):
        # Written beside the target and renamed over it, so a failed export never
        # leaves a half-written file where a good one was.
        try:
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
            )
        except OSError as error:
            raise CommandError(f"cannot write {path}: {error.strerror}", returncode=2) from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                result = export_access(stream.write, progress=self.progress)
            os.replace(temporary, path)
        except OSError as error:
            raise CommandError(f"cannot write {path}: {error.strerror}", returncode=2) from None
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return result
