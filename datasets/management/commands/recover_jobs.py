from django.core.management.base import BaseCommand, CommandError

from datasets import job_recovery, selectors
from dds_site.errors import DDSError


class Command(BaseCommand):
    help = (
        "Repair dataset jobs whose process died: finish an import's interrupted swap, close the other dead "
        "imports, exports and FN/FP analyses as failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", help="only this dataset (id)")

    def handle(self, *args, dataset=None, **options):
        if dataset:
            try:
                dataset_id = selectors.dataset_get(dataset).pk
            except DDSError as exc:
                raise CommandError(str(exc)) from exc
            repaired = {dataset_id: job_recovery.recover_dataset_jobs(dataset_id)}
        else:
            repaired = job_recovery.recover_stale_jobs()
        repaired = {dataset_id: done for dataset_id, done in repaired.items() if done}
        for dataset_id, done in repaired.items():
            for kind, outcome in sorted(done.items()):
                self.stdout.write(f"{dataset_id}\t{kind}\t{outcome}")
        if not repaired:
            self.stdout.write("no dead jobs")
