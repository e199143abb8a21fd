import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from permissions.transfer import ImportRefused, import_access


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

    def handle(self, *args, file, dry_run=False, **options):
        text = self._read(file)
        try:
            outcome = import_access(text, dry_run=dry_run)
        except ImportRefused as refused:
            for error in refused.errors:
                self.stderr.write(error)
            count = len(refused.errors)
            raise CommandError(
                f"{count} error{'s' if count != 1 else ''}; nothing was changed.", returncode=1
            ) from None
        if dry_run or options["verbosity"] >= 2:
            for line in outcome.change_lines():
                self.stdout.write(line)
        if dry_run:
            self.stdout.write("Dry run: nothing was changed. The import would give:")
        for line in outcome.summary_lines():
            self.stdout.write(line)

    def _read(self, file: str) -> str:
        try:
            if file == "-":
                return sys.stdin.read()
            return Path(file).read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}", returncode=2) from None
        except UnicodeDecodeError as error:
            raise CommandError(
                f"cannot read {file}: not UTF-8 text (byte {error.start})", returncode=2
            ) from None
