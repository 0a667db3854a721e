"""Export a label project to files: DDS's per-dataset JSON (``lpexport``) or COCO JSON."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dds_site.errors import DDSError
from labeling import export, selectors


class Command(BaseCommand):
    help = "Write a label project's labels to <output>/<project name>.<project id>/<dataset name>.<dataset id>.json"

    def add_arguments(self, parser):
        parser.add_argument("project_id")
        parser.add_argument("--format", choices=["dds", "coco"], default="dds")
        parser.add_argument("--output", default="data/lp_exports", help="output directory (default data/lp_exports)")

    def handle(self, *args, **options):
        try:
            project = selectors.project_get(options["project_id"])
            paths = export.export_files(
                project=project, output_dir=options["output"], fmt=options["format"], on_missing=self._missing
            )
        except DDSError as exc:
            raise CommandError(str(exc)) from exc
        for path in paths:
            self.stdout.write(str(path))

    def _missing(self, path, count: int) -> None:
        self.stderr.write(f"{path}: {count} task images no longer in the dataset, left out")
