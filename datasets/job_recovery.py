"""Recovery of dead dataset jobs: an import's interrupted swap rolled forward, dead attempts closed.

A job whose process died leaves its entry ``running`` (or ``swapping``). Reading a job's status
never repairs it: the status endpoint reports such an entry as ``stale``. The repair runs when a
new attempt of the same kind claims the slot (``run_import`` recovers first; ``jobs.job_start``
takes over a dead export or FN/FP entry), on ``manage.py recover_jobs``, and periodically on a
Celery worker (the ``datasets.recover_jobs`` task).
"""

from __future__ import annotations

from datasets import jobs, store
from datasets.importers.runner import JOB_KIND as IMPORT
from datasets.importers.runner import recover_import

KINDS = (IMPORT, "export", "fnfp")


def recover_dataset_jobs(dataset_id: str) -> dict[str, str]:
    """Repair the dead jobs of one dataset; returns ``{kind: what was done}`` for those repaired.

    An import's journalled swap is finished (``completed``), any other dead import is undone and
    closed (``failed``); a dead export or FN/FP is closed as failed.
    """
    done: dict[str, str] = {}
    outcome = recover_import(dataset_id)
    if outcome:
        done[IMPORT] = outcome
    for kind in KINDS[1:]:
        if jobs.mark_stale_failed(dataset_id, kind):
            done[kind] = "failed"
    return done


def recover_stale_jobs() -> dict[str, dict[str, str]]:
    """Repair the dead jobs of every dataset; returns ``{dataset id: {kind: what was done}}``."""
    entries = store.JobEntries()
    candidates = {
        dataset_id
        for kind in KINDS
        for dataset_id, entry in entries.find_live(kind, list(jobs.LIVE_STATES))
        if jobs.entry_is_stale(entry)
    }
    repaired = {dataset_id: recover_dataset_jobs(dataset_id) for dataset_id in sorted(candidates)}
    return {dataset_id: done for dataset_id, done in repaired.items() if done}
