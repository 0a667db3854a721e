"""The Celery application for long dataset jobs; used only when ``CELERY_BROKER_URL`` is set.

Start a worker with ``celery -A dds_site worker --beat``. Like ``manage.py``, a worker without
``MONGODB_URI`` uses the embedded MongoDB recorded under ``var/``. The beat schedule repairs
dataset jobs whose process died (``datasets.job_recovery``) once per staleness window.
"""

from __future__ import annotations

import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dds_site.settings")
if not settings.configured:
    # A worker process (Django not set up yet): find the database as manage.py does.
    from dds_site.mongo import configure_environment

    configure_environment()

app = Celery("dds")
app.conf.update(
    broker_url=settings.CELERY_BROKER_URL or "memory://",
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        "datasets.recover_jobs": {"task": "datasets.recover_jobs", "schedule": settings.DDS_JOB_STALE_AFTER_S},
    },
)
app.autodiscover_tasks(["datasets"])
