from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from datasets import image_files, selectors
from dds_site.errors import DDSError


class Command(BaseCommand):
    help = "Make the missing thumbnails of a dataset's local images and print made / cached / failed / skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id")
        parser.add_argument(
            "--size",
            type=int,
            default=image_files.DEFAULT_THUMBNAIL_SIZE,
            help=f"longest side, one of {', '.join(map(str, image_files.THUMBNAIL_SIZES))}",
        )

    def handle(self, *args, **options) -> None:
        size = options["size"]
        if size not in image_files.THUMBNAIL_SIZES:
            raise CommandError(f"--size must be one of {', '.join(map(str, image_files.THUMBNAIL_SIZES))}")
        try:
            dataset = selectors.dataset_get(options["dataset_id"])
        except DDSError as exc:
            raise CommandError(exc.message) from exc
        with tqdm(
            total=dataset.num_images or None, desc="thumbnails", unit="img", disable=options["verbosity"] == 0
        ) as bar:
            summary = image_files.make_thumbnails(dataset.pk, size, progress=bar.update)
        self.stdout.write(str(summary))
