"""Repair task images that DDS's worker replacements left blocked (reference §12 bug 14)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dds_site.errors import DDSError
from labeling import repair, selectors
from labeling.models import LabelTask


class Command(BaseCommand):
    help = (
        "Move or drop the statuses, labels and reviews of users who no longer hold a role in their task, as a "
        "replacement does here, and move the role counters accordingly. Safe to run while people work; "
        "idempotent. adopt_dds_database runs it too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", dest="project_ids", action="append", default=None, help="only this project")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        tasks = LabelTask.objects.order_by("project_id", "idx")
        if options["project_ids"]:
            try:
                projects = [selectors.project_get(project_id) for project_id in options["project_ids"]]
            except DDSError as exc:
                raise CommandError(str(exc)) from exc
            tasks = tasks.filter(project_id__in=[project.pk for project in projects])
        tasks = list(tasks)
        report = repair.repair_replacement_leftovers(
            tasks=tasks,
            dry_run=dry_run,
            progress_bar=lambda items: tqdm(
                items, total=len(tasks), desc="repairing tasks", disable=options["verbosity"] == 0
            ),
        )
        verb = "would repair" if dry_run else "repaired"
        self.stdout.write(
            f"checked {report.images} image(s) of {report.tasks} task(s); {verb} {report.images_repaired} "
            f"image(s) of {report.tasks_repaired} task(s)"
        )
        if report.images_conflicting:
            self.stdout.write(
                f"{report.images_conflicting} image(s) kept changing while being repaired; run the command again"
            )
