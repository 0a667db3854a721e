from django.core.management.base import BaseCommand

from datasets import selectors


class Command(BaseCommand):
    help = "List datasets: id, status, number of images, name."

    def handle(self, *args, **options):
        for dataset in selectors.dataset_list():
            self.stdout.write(f"{dataset.pk}\t{dataset.status}\t{dataset.num_images}\t{dataset.name}")
