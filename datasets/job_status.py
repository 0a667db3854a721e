"""What a user may see of a dataset's job entries (``DataSet.detail_status``).

Staff see every field but the internal swap journal. Other users see each job's state, progress
and counts only: no server paths, host name, process id, attempt id, failure text or examples of
skipped records (they may quote file names, and paths say how the server is laid out).
"""

from __future__ import annotations

from typing import Any

from datasets import jobs
from datasets.fnfp import DDS_PROCESSOR_KEY

# The job kinds a dataset's status lists (besides DDS's FN/FP processor state, a plain value).
JOB_KINDS = ("import", "export", "fnfp")

PUBLIC_FIELDS = frozenset(
    {
        "state",
        "phase",
        "stale",
        "progress",
        "total",
        "started_ts",
        "heartbeat_ts",
        "finished_ts",
        "seconds",
        "format",
        "num_images",
        "skipped",
        "carried_images",
        "dropped_user_images",
        "late_user_edits",
        "images",
        "annotations",
        "lines",
        "renamed_label_files",
        "unread_local_files",
        "labels",
        "retried_images",
    }
)
_INTERNAL_FIELDS = ("pending",)


def jobs_overview(detail_status: dict | None) -> dict:
    """The job entries of a dataset, each running one whose attempt is dead marked ``stale: true``.

    Only reads: the repair is ``datasets.job_recovery``'s.
    """
    detail = detail_status or {}
    overview: dict[str, Any] = {}
    for kind in JOB_KINDS:
        entry = detail.get(kind)
        if isinstance(entry, dict) and entry.get("state") in jobs.LIVE_STATES:
            entry = {**entry, "stale": jobs.entry_is_stale(entry)}
        overview[kind] = entry
    overview[DDS_PROCESSOR_KEY] = detail.get(DDS_PROCESSOR_KEY)
    return overview


def job_status_for(user: Any, detail_status: dict | None) -> dict:
    """``detail_status`` as ``user`` may see it; plain values (DDS's processor states) are kept."""
    shown = {}
    for kind, entry in (detail_status or {}).items():
        if isinstance(entry, dict):
            if getattr(user, "is_staff", False):
                entry = {key: value for key, value in entry.items() if key not in _INTERNAL_FIELDS}
            else:
                entry = {key: value for key, value in entry.items() if key in PUBLIC_FIELDS}
        shown[kind] = entry
    return shown
