"""Export (reference §7.10, §9.8) with DDS bugs 16, 18 and 26 fixed."""

from __future__ import annotations

import json

import pytest

from datasets.images import REVISION, Image
from datasets.models import DataSet, Label
from dds_site.errors import InvalidArgument
from labeling import export
from labeling.errors import LabelProjectError, ProjectNotAccepted
from labeling.models import LabelProject
from labeling.workflow import ProjectStatus
from tests.labeling.conftest import make_project
from tests.labeling.helpers import images_of
from tests.labeling.test_labeling import A, R, staffed_project

SEG = {"category_name": "dog", "segmentation": "1,1,5,1,5,5"}


def box(x: float) -> dict:
    return {"category_name": "cat", "bounding_box": {"xmin": x, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}}


@pytest.fixture
def accepted(users, small_datasets):
    """Task 0: L1 boxes at 0.1, L2 at 0.2 + a polygon, all accepted. Task 1: L2 rejected, then force-accepted."""
    DataSet.objects.filter(pk=small_datasets[0].pk).update(object_types=["Classification", "Detection"])
    project, tasks, users = staffed_project(users, small_datasets)
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    for number, task in enumerate(tasks):
        for image in images_of(task):
            image.set_label(task, l1, [box(0.1)])
            image.set_label(task, l2, [box(0.2), SEG])
        for image in images_of(task):
            for labeler in (l1, l2):
                action = R if number == 1 and labeler == l2 else A
                for reviewer in (r1, r2):
                    image.set_review(task, reviewer, image.labels[labeler.pk][0].id, action)
        task.refresh_from_db()
    tasks[0].accept_task()
    tasks[1].set_leader(users["label_leader"][1], "label_leader")  # a replacement does not change the outcome
    tasks[1].refresh_from_db()
    assert tasks[1].status == "working"
    return project, tasks, users


def _finish(project, tasks, users):
    """L2 relabels task 1 and both reviewers accept; the manager rejects it, then force-accepts it."""
    l2 = users["labeler"][1]
    for image in images_of(tasks[1]):
        image.set_label(tasks[1], l2, [box(0.2), SEG])
    for image in images_of(tasks[1]):
        for reviewer in users["reviewer"][:2]:
            image.set_review(tasks[1], reviewer, image.labels[l2.pk][0].id, A)
    tasks[1].refresh_from_db()
    assert tasks[1].status == "reviewing"
    tasks[1].reject_task()
    tasks[1].accept_rejected_task()
    project.refresh_from_db()
    assert project.status == ProjectStatus.REVIEWING
    project.accept_project()


def _revisions(dataset_id: str) -> dict:
    return {doc["_id"]: doc.get(REVISION) for doc in Image(dataset_id).get_collection().find({}, {REVISION: 1})}


def test_export_writes_one_accepted_label_per_image_bug16(accepted, small_datasets):
    project, tasks, users = accepted
    _finish(project, tasks, users)
    revisions = {dataset.pk: _revisions(dataset.pk) for dataset in small_datasets}
    project.export_project("review")
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.EXPORTED
    name = f"review[{project.pk[:8]}]"
    for dataset in small_datasets:
        label = Label.objects.get(dataset_id=dataset.pk, name=name)
        assert label.type == "User"
        stored = DataSet.objects.get(pk=dataset.pk)
        assert stored.detail_status["export_label_project"] == "ready"
        assert stored.status == "ready"
        for image in Image(dataset.pk).find_many({}):
            exported = [o for o in image.objects if o.label_id == label.pk]
            # Task 0 (all accepted): the latest label only, never both labelers' (no duplicates);
            # task 1 (force-accepted): also the latest label.
            assert [o.category_name for o in exported] == ["cat", "dog"]
            assert exported[0].bounding_box["xmin"] == 0.2
            assert exported[0].label_type == "User"
        # The write-back renews each image's revision, so an FN/FP run reading before it redoes the image.
        after = _revisions(dataset.pk)
        assert after.keys() == revisions[dataset.pk].keys()
        assert all(after[image_id] != revisions[dataset.pk][image_id] for image_id in after)
    types = DataSet.objects.get(pk=small_datasets[0].pk).object_types
    assert set(types) == {"Classification", "Detection", "Segmentation"}
    with pytest.raises(LabelProjectError) as caught:
        project.export_project("again")
    assert caught.value.code == ProjectNotAccepted.code


def test_export_keeps_only_labels_accepted_by_all_reviewers(accepted, small_datasets):
    _, tasks, users = accepted
    l1 = users["labeler"][0]
    from labeling import workflow

    image = images_of(tasks[1])[0]
    state = workflow.ImageState(
        labels={k: [x.model_dump() for x in v] for k, v in image.labels.items()},
        reviews={k: [x.model_dump() for x in v] for k, v in image.reviews.items()},
        role_status=image.role_status,
    )
    # Not force-accepted: only L1's label was accepted by both reviewers.
    assert workflow.exported_label(state, force_accepted=False)["user_id"] == l1.pk
    assert workflow.exported_label(state, force_accepted=True)["user_id"] == users["labeler"][1].pk


def test_export_failure_marks_dataset_failed_and_keeps_status(accepted, small_datasets, monkeypatch):
    project, tasks, users = accepted
    _finish(project, tasks, users)
    DataSet.objects.filter(pk=small_datasets[1].pk).update(status="processing")
    real = export.category_get_or_create

    def flaky(*, dataset_id, name):
        if dataset_id == small_datasets[1].pk:
            raise RuntimeError("write failed")
        return real(dataset_id=dataset_id, name=name)

    monkeypatch.setattr(export, "category_get_or_create", flaky)
    project.export_project("review", label_type="GT")
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.ACCEPTED
    failed = DataSet.objects.get(pk=small_datasets[1].pk)
    assert failed.detail_status["export_label_project"] == "failed"
    assert failed.status == "processing"
    monkeypatch.setattr(export, "category_get_or_create", real)
    project.export_project("review", label_type="GT")  # re-runnable: no duplicate objects
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.EXPORTED
    label = Label.objects.get(dataset_id=small_datasets[0].pk, name=f"review[{project.pk[:8]}]")
    for image in Image(small_datasets[0].pk).find_many({}):
        assert len([o for o in image.objects if o.label_id == label.pk]) == 2


def test_export_rejects_bad_label_type(accepted, small_datasets):
    project, tasks, users = accepted
    _finish(project, tasks, users)
    with pytest.raises(InvalidArgument) as caught:
        project.export_project("review", label_type="Nope")
    assert caught.value.code == 400002
    for dataset in small_datasets[:1]:
        Label.objects.create(id="x" * 32, dataset_id=dataset.pk, name=f"review[{project.pk[:8]}]", type="GT")
    with pytest.raises(InvalidArgument) as caught:
        project.export_project("review", label_type="User")
    assert caught.value.detail == {"label_type": "GT"}
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.ACCEPTED
    assert all(o.label_id != "x" * 32 for i in Image(small_datasets[0].pk).find_many({}) for o in i.objects)


def test_export_files_dds_and_coco(accepted, small_datasets, tmp_path):
    project, tasks, users = accepted
    _finish(project, tasks, users)
    (dds_path, _) = export.export_files(project=project, output_dir=tmp_path, fmt="dds")
    data = json.loads(dds_path.read_text())
    assert data["dataset_id"] == small_datasets[0].pk
    assert len(data["images"]) == 10
    assert {entry["task_id"] for entry in data["images"]} == {tasks[0].pk}
    labels = data["images"][0]["labels"]
    assert {label["labeler"] for label in labels} == {users["labeler"][0].name, users["labeler"][1].name}
    assert all(sorted(label["accepted_by"]) == sorted(u.name for u in users["reviewer"][:2]) for label in labels)
    (coco_path, _) = export.export_files(project=project, output_dir=tmp_path, fmt="coco")
    coco = json.loads(coco_path.read_text())
    assert len(coco["images"]) == 10
    assert coco["images"][0]["width"] == 640
    first = [a for a in coco["annotations"] if a["image_id"] == 0]
    assert first[0]["bbox"] == [128.0, 48.0, 192.0, 192.0]
    assert first[1]["segmentation"] == [[1.0, 1.0, 5.0, 1.0, 5.0, 5.0]]
    assert {c["name"] for c in coco["categories"]} >= {"cat", "dog"}


def test_dataset_free_after_export_bug18(accepted, small_datasets, users):
    project, tasks, users = accepted
    _finish(project, tasks, users)
    project.export_project("review")
    again = make_project(users, small_datasets[:1])
    assert again.status == ProjectStatus.WAITING


def test_lpexport_lists_each_image_once_under_its_own_task_bug26(users, small_datasets, tmp_path):
    project = make_project(users, small_datasets[:1], batch_size=4, label_times=1, review_times=0)
    (path,) = export.export_files(project=project, output_dir=tmp_path, fmt="dds")
    images = json.loads(path.read_text())["images"]
    assert sorted(entry["image_id"] for entry in images) == list(range(10))
    from labeling.models import LabelTask

    owner = {i.image_id: t.pk for t in LabelTask.objects.filter(project_id=project.pk) for i in images_of(t)}
    assert all(owner[entry["image_id"]] == entry["task_id"] for entry in images)
