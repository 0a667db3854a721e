"""Admin actions for the long dataset jobs (listed on the DataSet admin)."""

from __future__ import annotations

from django.contrib import admin, messages

from datasets import tasks
from dds_site.errors import DDSError


@admin.action(description="Run the FN/FP analysis of the selected datasets")
def run_fnfp_selected(modeladmin, request, queryset) -> None:
    """Queue (with a Celery broker) or run the FN/FP analysis; the outcome is in detail_status."""
    for dataset in queryset:
        try:
            outcome = tasks.submit_fnfp(dataset.id)
        except DDSError as exc:
            modeladmin.message_user(request, f"{dataset.name}: {exc.message}", messages.ERROR)
            continue
        done = "queued" if outcome.get("queued") else f"done, {outcome['num_images']} images"
        modeladmin.message_user(request, f"{dataset.name}: FN/FP analysis {done}.", messages.SUCCESS)
