"""The documented responses of the image and task-image endpoints are what they return.

Each response is validated against the OpenAPI document the API serves (``/api/v1/schema/``), made
strict: a key that is not documented fails (``additionalProperties: false``), so does a documented
key that is missing (``required``) or of another type. The data covers the shapes documents take:
boxes, polygons, RLE masks, keypoints, captions, confidences, FN/FP results, an image without width
and height, an image and an object written by DDS with fields missing, pre-labels, labels, reviews.

The output serializers render stored dicts without DRF's per-field conversions (``DictOutput``); the
same requests rendered by DRF's own field-by-field rendering must give the same bodies.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import User
from datasets.documents import object_document
from datasets.images import Image
from datasets.models import DataSet
from dds_site.output import DictOutput
from labeling.models import LabelProject, LabelTask
from labeling.workflow import ImageStatus, Role

pytestmark = pytest.mark.usefixtures("db")

RLE = {"counts": "0b1", "size": [4, 6]}
# x, y, v, conf per keypoint, as the seed API takes them
QUADS = [10, 20, 2, 0.9, 30, 40, 1, 0.5]
LABELED = [
    {"category_name": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}},
    {"category_name": "dog", "segmentation": "1,1,5,1,5,5", "mask": RLE},
    {
        "category_name": "cat",
        "points": [1, 2, 0, 1, 2, 0.9, 3, 4, 0, 1, 1, 0.5],
        "lines": [0, 1],
        "point_colors": [1, 2, 3, 4, 5, 6],
        "point_names": ["nose", "eye"],
    },
]


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _dataset() -> DataSet:
    dataset = DataSet.create_dataset("shapes")
    full = dataset.add_image("http://img/1.jpg", width=64, height=48, metadata={"source": "camera"})
    full.add_annotation("cat", bbox=(1, 2, 30, 20), caption="a cat")
    full.add_annotation("dog", label="det", label_type="Pred", conf=0.25, bbox=(5, 5, 10, 10))
    full.add_annotation("dog", segmentation=[[1, 1, 9, 1, 9, 9]], is_group=True)
    full.add_annotation("cat", keypoints=QUADS, keypoint_names=["nose", "eye"], keypoint_skeleton=[0, 1])
    collection = Image(dataset.pk).get_collection()
    fnfp = object_document(
        label_name="det", label_type="Pred", label_id="l", category_name="dog", category_id="c", mask=RLE
    )
    fnfp.update(compare_result={"90": "FP"}, matched_det_idx=1)
    collection.update_one({"_id": full.id}, {"$push": {"objects": fnfp}})
    bare = dataset.add_image("http://img/2.jpg")  # no width and height; a classification only
    bare.add_annotation("dog")
    # As DDS may have left them: no width, height, flag or metadata; an object with nulls and gaps.
    legacy = {"label_name": "old", "label_type": "GT", "segmentation": None, "caption": None, "is_group": None}
    collection.insert_one(
        {"_id": 90, "idx": 2, "url": "http://img/90.jpg", "dataset_id": dataset.pk, "objects": [legacy]}
    )
    return dataset


def _project(dataset: DataSet, staff: User, labeler: User, reviewer: User) -> LabelTask:
    project = LabelProject.create_project(
        name="shapes", owner=staff, datasets=[dataset], managers=[staff], categories=["cat", "dog"],
        pre_label="GroundTruth",
    )  # fmt: skip
    project.init_project(batch_size=0, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(staff, Role.LABEL_LEADER)
    task.set_leader(staff, Role.REVIEW_LEADER)
    task.init_workers([labeler], Role.LABELER)
    task.init_workers([reviewer], Role.REVIEWER)
    return task


@pytest.fixture
def world() -> dict[str, Any]:
    staff = User.objects.create_user("shape_staff", "shape-staff-pw-1", is_staff=True)
    labeler = User.objects.create_user("shape_labeler", "shape-labeler-pw-1")
    reviewer = User.objects.create_user("shape_reviewer", "shape-reviewer-pw-1")
    dataset = _dataset()
    task = _project(dataset, staff, labeler, reviewer)
    return {"staff": staff, "labeler": labeler, "reviewer": reviewer, "dataset": dataset, "task": task}


def _strict(node: Any, components: dict) -> Any:
    """An OpenAPI 3.0 schema as a JSON schema that rejects undocumented keys."""
    if isinstance(node, list):
        return [_strict(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _strict(components[node["$ref"].rsplit("/", 1)[1]], components)
    ignored = {"nullable", "readOnly", "writeOnly", "format", "default", "description", "properties"}
    out = {key: _strict(value, components) for key, value in node.items() if key not in ignored}
    if "properties" in node:
        out["properties"] = {name: _strict(schema, components) for name, schema in node["properties"].items()}
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


class Documented:
    """The served OpenAPI document: validates a response of an operation against it."""

    def __init__(self, client: APIClient) -> None:
        response = client.get("/api/v1/schema/", {"format": "json"})
        assert response.status_code == 200
        self.document = response.json()
        self.operations = {
            op["operationId"]: op
            for ops in self.document["paths"].values()
            for op in ops.values()
            if "operationId" in op
        }
        self.checked: set[str] = set()

    def check(self, operation_id: str, response) -> Any:
        assert response.status_code == 200, response.content
        body = response.json()
        documented = self.operations[operation_id]["responses"]["200"]["content"]["application/json"]["schema"]
        schema = _strict(documented, self.document["components"]["schemas"])
        described = schema.get("items", schema)
        assert described.get("properties"), f"{operation_id}: the response's fields are not documented"
        jsonschema.Draft7Validator(schema).validate(body)
        self.checked.add(operation_id)
        return body


def _image_requests(world) -> list[tuple[str, str, dict]]:
    dataset = world["dataset"]
    base = f"/api/v1/datasets/{dataset.pk}/images"
    ids = [doc["_id"] for doc in Image(dataset.pk).get_collection().find({}, {"_id": 1})]
    requests = [
        ("datasets_images_list", base, {"page_size": 10}),
        ("datasets_images_list", base, {"cursor": -1, "page_size": 2}),
        ("datasets_images_list", base, {"category_id": "no-such-category"}),
    ]
    requests += [("datasets_images_retrieve", f"{base}/{image_id}", {}) for image_id in ids]
    return requests


def _task_image_requests(world) -> list[tuple[str, str, dict]]:
    task = world["task"]
    base = f"/api/v1/label-projects/{task.project_id}/tasks/{task.pk}/images"
    requests = [("label_projects_tasks_images_list", base, {"status": status}) for status in ImageStatus.values]
    requests.append(("label_projects_tasks_images_list", base, {"cursor": -1, "page_size": 1}))
    requests += [("api_v1_label_projects_tasks_images_retrieve", f"{base}/{task.pk}_{idx}", {}) for idx in (0, 1, 2)]
    return requests


def _other_read_requests(world) -> list[tuple[str, str, dict]]:
    """The other reads of datasets, projects and tasks (their list envelopes as they are)."""
    dataset, task = world["dataset"], world["task"]
    project = f"/api/v1/label-projects/{task.project_id}"
    return [
        ("datasets_list", "/api/v1/datasets", {}),
        ("datasets_retrieve", f"/api/v1/datasets/{dataset.pk}", {}),
        ("datasets_categories_list", f"/api/v1/datasets/{dataset.pk}/categories", {}),
        ("datasets_labels_list", f"/api/v1/datasets/{dataset.pk}/labels", {}),
        ("api_v1_label_projects_list", "/api/v1/label-projects", {}),
        ("api_v1_label_projects_retrieve", project, {}),
        ("api_v1_label_projects_tasks_list", f"{project}/tasks", {}),
        ("api_v1_label_projects_tasks_retrieve", f"{project}/tasks/{task.pk}", {}),
        ("api_v1_label_projects_tasks_roles_list", f"{project}/tasks/{task.pk}/roles", {}),
    ]


def _label_and_review(world, documented: Documented) -> None:
    task = world["task"]
    base = f"/api/v1/label-projects/{task.project_id}/tasks/{task.pk}/images/{task.pk}_0"
    label = documented.check(
        "api_v1_label_projects_tasks_images_label_create",
        _client(world["labeler"]).post(f"{base}/label", {"annotations": LABELED}, format="json"),
    )
    assert [annotation["category_name"] for annotation in label["annotations"]] == ["cat", "dog", "cat"]
    review = documented.check(
        "api_v1_label_projects_tasks_images_review_create",
        _client(world["reviewer"]).post(f"{base}/review", {"label_id": label["id"], "action": "accept"}, format="json"),
    )
    assert review["label_id"] == label["id"]


def _bodies(world, requests: list[tuple[str, str, dict]], documented: Documented | None = None) -> list:
    clients = {"staff": _client(world["staff"]), "labeler": _client(world["labeler"])}
    bodies = []
    for operation_id, url, params in requests:
        for client in clients.values():
            response = client.get(url, params)
            if documented is not None:
                bodies.append(documented.check(operation_id, response))
            else:
                bodies.append(response.json())
    return bodies


def test_image_and_task_image_responses_match_their_documented_schemas(world):
    documented = Documented(_client(world["staff"]))
    _label_and_review(world, documented)
    bodies = _bodies(world, _image_requests(world) + _task_image_requests(world), documented)
    assert documented.checked == {
        "datasets_images_list",
        "datasets_images_retrieve",
        "label_projects_tasks_images_list",
        "api_v1_label_projects_tasks_images_retrieve",
        "api_v1_label_projects_tasks_images_label_create",
        "api_v1_label_projects_tasks_images_review_create",
    }
    images = {image["id"]: image for body in bodies if "results" in body for image in body["results"]}
    assert images[1]["width"] is None  # the image added without a size
    legacy = images[90]
    assert (legacy["width"], legacy["flag"], legacy["metadata"], legacy["desc"]) == (None, 0, {}, "{}")
    assert legacy["objects"][0]["segmentation"] == ""  # DDS's API gave "" for a null, as here
    assert legacy["objects"][0]["conf"] == 1.0  # a missing field shows the model's default
    shown = [image for body in bodies if "image_list" in body for image in body["image_list"]]
    assert any(image["default_labels"] for image in shown)  # pre-labels were rendered and checked
    assert any(image["labels"] and image["reviews"] for image in shown)


def test_declared_fields_rendered_by_drf_give_the_same_bodies(world, monkeypatch):
    _label_and_review(world, Documented(_client(world["staff"])))
    requests = _image_requests(world) + _task_image_requests(world)
    rendered = _bodies(world, requests)
    monkeypatch.setattr(DictOutput, "to_representation", serializers.Serializer.to_representation)
    assert _bodies(world, requests) == rendered


def test_other_reads_match_their_documented_schemas(world):
    documented = Documented(_client(world["staff"]))
    _label_and_review(world, documented)
    requests = _other_read_requests(world)
    _bodies(world, requests, documented)
    assert documented.checked >= {operation_id for operation_id, _url, _params in requests}
