from django.core.management.base import BaseCommand

from controlpanel.kit.areas import all_areas


class Command(BaseCommand):
    help = "Print every area of the registry, one a line: key<TAB>label<TAB>API path."

    def handle(self, *args, **options):
        for area in all_areas():
            self.stdout.write(f"{area.key}\t{area.label}\t{area.api_path}")
