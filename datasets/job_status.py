"""What a user may see of a dataset's job entries (``DataSet.detail_status``).

Staff see every field but the internal swap journal. Other users see each job's state, progress
and counts only: no server paths, host name, process id, attempt id, failure text or examples of
skipped records (they may quote file names, and paths say how the server is laid out).
"""

from __future__ import annotations

from typing import Any

PUBLIC_FIELDS = frozenset(
    {
        "state",
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
