import shutil
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from controlpanel.kit.progress import progress_bar, wanted
from permissions.transfer import ImportRefused, Source, UnreadableFile, import_access


class Command(BaseCommand):
    help = (
        "Set the access configuration to what a JSON file says (the format export_access "
        "writes). Declarative, idempotent and atomic: a file with any error changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="the JSON file, or - for standard input")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and show what would change, without changing anything",
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="show a progress bar on stderr even when it is not a terminal",
        )

    def handle(self, *args, file, dry_run=False, progress=False, **options):
        show = wanted(self.stderr, progress)

        def bar(label, total, unit=""):
            return progress_bar(self.stderr, total, f"{label:<15}", show=show, unit=unit)

        verbose = dry_run or options["verbosity"] >= 2
        with tempfile.TemporaryFile() as spool:
            source = self._source(file, spool)
            try:
                outcome = import_access(
                    source, dry_run=dry_run, progress=bar, record_changes=verbose
                )
            except ImportRefused as refused:
                for error in refused.errors:
                    self.stderr.write(error)
                count = len(refused.errors)
                raise CommandError(
                    f"{count} error{'s' if count != 1 else ''}; nothing was changed.",
                    returncode=1,
                ) from None
            except UnreadableFile as error:
                raise CommandError(f"cannot read {file}: {error}", returncode=2) from None
            except OSError as error:
                raise CommandError(f"cannot read {file}: {error.strerror}", returncode=2) from None
        if verbose:
            for line in outcome.change_lines():
                self.stdout.write(line)
        if dry_run:
            self.stdout.write("Dry run: nothing was changed. The import would give:")
        for line in outcome.summary_lines():
            self.stdout.write(line)

    def _source(self, file: str, spool) -> Source:
        """The file, read twice (checked, then written) a chunk at a time; standard input
        is copied to a temporary file first, since it can be read only once."""
        try:
            if file == "-":
                stdin = getattr(sys.stdin, "buffer", None)
                if stdin is not None:
                    shutil.copyfileobj(stdin, spool)
                else:  # already text (a test's StringIO)
                    while text := sys.stdin.read(1 << 16):
                        spool.write(text.encode("utf-8"))
                return Source(file=spool)
            path = Path(file)
            with path.open("rb"):  # fails now, with a clear message, when unreadable
                pass
            return Source(path=path)
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}", returncode=2) from None
        except UnicodeDecodeError as error:
            raise CommandError(
                f"cannot read {file}: not UTF-8 text (byte {error.start})", returncode=2
            ) from None
