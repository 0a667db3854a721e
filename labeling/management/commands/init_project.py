"""Initialise a label project (split its datasets into tasks), or resume an interrupted initialisation."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dds_site.errors import DDSError
from labeling import selectors, services


class Command(BaseCommand):
    help = "Split a waiting label project into tasks (--resume re-runs one left in 'initializing')."

    def add_arguments(self, parser):
        parser.add_argument("project_id")
        parser.add_argument("--batch-size", type=int, default=None, help="images per task; 0 = one task per dataset")
        parser.add_argument("--label-times", type=int, default=None)
        parser.add_argument("--review-times", type=int, default=None)
        parser.add_argument("--resume", action="store_true", help="re-run an initialisation a crash interrupted")

    def handle(self, *args, **options):
        try:
            project = selectors.project_get(options["project_id"])
            project = services.project_init(
                project=project,
                batch_size=options["batch_size"],
                label_times=options["label_times"],
                review_times=options["review_times"],
                resume=options["resume"],
                actor=None,  # the operator
            )
        except DDSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"project {project.pk}: {project.status}, {project.task_num_total} task(s)")
