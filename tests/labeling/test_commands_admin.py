"""Management commands (lpexport, init_project) and the admin site of the labeling app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labeling.models import LabelProject, LabelTask
from labeling.workflow import ProjectStatus, TaskStatus
from tests.labeling.conftest import make_project


def test_init_project_command(users, small_datasets, capsys):
    project = make_project(users, small_datasets)
    call_command("init_project", project.pk, "--batch-size", "4", "--label-times", "1", "--review-times", "0")
    assert "working, 6 task(s)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="400209"):
        call_command("init_project", project.pk, "--batch-size", "4", "--label-times", "1", "--review-times", "0")
    with pytest.raises(CommandError, match="404150"):
        call_command("init_project", "nope")


def test_lpexport_command(users, small_datasets, tmp_path, capsys):
    project = make_project(users, small_datasets, batch_size=0, label_times=1, review_times=0)
    call_command("lpexport", project.pk, "--output", str(tmp_path))
    paths = capsys.readouterr().out.split()
    assert len(paths) == 2
    data = json.loads(Path(paths[0]).read_text())
    assert len(data["images"]) == 10
    assert data["images"][0]["labels"] == []
    call_command("lpexport", project.pk, "--output", str(tmp_path), "--format", "coco")
    coco = json.loads(Path(capsys.readouterr().out.split()[0]).read_text())
    assert len(coco["images"]) == 10
    assert coco["annotations"] == []


def test_admin_pages_and_actions(admin_client, users, small_datasets):
    project = make_project(users, small_datasets, batch_size=0, label_times=1, review_times=0)
    for url in (
        "/admin/labeling/labelproject/",
        f"/admin/labeling/labelproject/{project.pk}/change/",
        "/admin/labeling/labeltask/",
        "/admin/labeling/taskrole/",
    ):
        assert admin_client.get(url).status_code == 200, url
    task = LabelTask.objects.filter(project_id=project.pk).first()
    response = admin_client.post(
        "/admin/labeling/labeltask/", {"action": "accept_tasks", "_selected_action": [task.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "400224" in response.content.decode()  # the workflow refused: the task is not reviewing
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WAITING
    response = admin_client.post(
        "/admin/labeling/labelproject/", {"action": "recount_projects", "_selected_action": [project.pk]}, follow=True
    )
    assert response.status_code == 200
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WORKING
