from django.core.management.base import BaseCommand, CommandError

from datasets import services
from dds_site.errors import DDSError


class Command(BaseCommand):
    help = "Create an empty, ready dataset and print its id."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--description", default=None)
        parser.add_argument("--id", dest="id_", default=None, help="Use this id (updates the dataset if it exists).")

    def handle(self, *args, **options):
        try:
            dataset = services.dataset_create(
                name=options["name"], id_=options["id_"], description=options["description"]
            )
        except DDSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(dataset.pk)
