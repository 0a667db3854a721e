from django.core.management.base import BaseCommand, CommandError

from datasets import selectors, services
from dds_site.errors import DDSError


class Command(BaseCommand):
    help = "Delete a dataset with its images, categories, labels and finished label-project data."

    def add_arguments(self, parser):
        parser.add_argument("id", help="Dataset id.")

    def handle(self, *args, **options):
        try:
            dataset = selectors.dataset_get(options["id"])
            services.dataset_cascade_delete(dataset)
        except DDSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"deleted {dataset.pk} ({dataset.name})")
