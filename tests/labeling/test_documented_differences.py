"""The labeling differences from DDS that the README lists, through the seed's model API."""

from __future__ import annotations

import pytest

from datasets.images import Image
from datasets.models import Label
from labeling.errors import AnnotationInvalid, LabelTaskError
from labeling.workflow import ImageStatus
from tests.labeling.conftest import staffed_task
from tests.labeling.helpers import images_of

A, R = "accept", "reject"


def box(x: float, category: str = "cat") -> dict:
    return {"category_name": category, "bounding_box": {"xmin": x, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}}


def test_the_model_api_refuses_a_category_outside_the_project(users, small_datasets):
    task = staffed_task(users, small_datasets[:1], label_times=1, review_times=0)
    image = images_of(task)[0]
    with pytest.raises(LabelTaskError) as caught:
        image.set_label(task, users["labeler"][0], [box(0.1, "zebra")])
    assert caught.value.code == AnnotationInvalid.code
    assert "zebra" in caught.value.message
    assert images_of(task)[0].labels == {}


def test_a_reviewer_may_review_while_another_labeler_is_rejected(users, small_datasets):
    task = staffed_task(users, small_datasets[:1], label_times=2, review_times=1)
    l1, l2 = users["labeler"][:2]
    reviewer = users["reviewer"][0]
    image = images_of(task)[0]
    image.set_label(task, l1, [box(0.1)])
    image.set_label(task, l2, [box(0.2)])
    image = images_of(task)[0]
    image.set_review(task, reviewer, image.labels[l1.pk][0].id, R)
    # DDS refused every further review of the image here (400232).
    image.set_review(task, reviewer, image.labels[l2.pk][0].id, A)
    statuses = images_of(task)[0].role_status
    assert statuses[f"labeler_{l1.pk}"] == ImageStatus.REJECTED
    assert statuses[f"labeler_{l2.pk}"] == ImageStatus.ACCEPTED


def test_a_relabel_sends_accepting_reviewers_back_to_reviewing(users, small_datasets):
    task = staffed_task(users, small_datasets[:1], label_times=2, review_times=2)
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    image = images_of(task)[0]
    image.set_label(task, l1, [box(0.1)])
    image.set_label(task, l2, [box(0.2)])
    image = images_of(task)[0]
    first, second = image.labels[l1.pk][0].id, image.labels[l2.pk][0].id
    for reviewer, action in ((r1, A), (r2, A)):
        image.set_review(task, reviewer, first, action)
    image.set_review(task, r1, second, A)
    image.set_review(task, r2, second, R)
    assert images_of(task)[0].role_status[f"reviewer_{r1.pk}"] == ImageStatus.ACCEPTED
    images_of(task)[0].set_label(task, l2, [box(0.3)])
    statuses = images_of(task)[0].role_status
    assert statuses[f"labeler_{l1.pk}"] == ImageStatus.ACCEPTED
    assert statuses[f"reviewer_{r1.pk}"] == ImageStatus.REVIEWING  # DDS left him accepted: the label never reached him


def test_export_without_reviews_writes_only_the_latest_label(users, small_datasets):
    task = staffed_task(users, small_datasets[:1], label_times=2, review_times=0)
    l1, l2 = users["labeler"][:2]
    for labeler, boxes in ((l1, [box(0.1), box(0.2)]), (l2, [box(0.3)])):  # L2's labels are the later ones
        for image in images_of(task):
            image.set_label(task, labeler, boxes)
    task.refresh_from_db()
    task.accept_task()
    project = task.project
    project.refresh_from_db()
    project.accept_project()
    project.export_project("from project")
    label = Label.objects.get(dataset_id=task.dataset_id, name=f"from project[{project.pk[:8]}]")
    for image in Image(task.dataset_id).find_many({}, to_dict=True):
        exported = [obj for obj in image["objects"] if obj["label_id"] == label.pk]
        assert [obj["bounding_box"]["xmin"] for obj in exported] == [0.3], image["id"]
