"""DataSet.cascade_delete: refused while a label project is unfinished, otherwise no orphans."""

from __future__ import annotations

import pytest

from datasets.errors import DatasetOccupied
from datasets.images import Image, image_collection_name
from datasets.models import Category, DataSet, Label
from dds_site import mongo
from labeling.store import task_images_collection_name as task_image_collection_name

pytestmark = pytest.mark.usefixtures("db")


def _project(project_id: str, status: str, *dataset_ids: str) -> None:
    mongo.get_collection("label_projects").insert_one(
        {
            "_id": project_id,
            "name": f"project {project_id}",
            "status": status,
            "datasets": [{"id": d, "name": d} for d in dataset_ids],
        }
    )


@pytest.fixture
def labelled(dataset_with_images):
    """The dataset with tasks, task roles and task images of a project, and a bystander dataset."""
    other = DataSet.create_dataset("other")
    other.add_image("http://img/o.jpg").add_annotation("cow")
    database = mongo.get_database()
    database["label_tasks"].insert_many(
        [
            {"_id": "t1", "dataset_id": dataset_with_images.pk, "project_id": "p1"},
            {"_id": "t2", "dataset_id": dataset_with_images.pk, "project_id": "p1"},
            {"_id": "t3", "dataset_id": other.pk, "project_id": "p1"},
        ]
    )
    database["label_task_roles"].insert_many(
        [{"_id": "r1", "task_id": "t1"}, {"_id": "r2", "task_id": "t2"}, {"_id": "r3", "task_id": "t3"}]
    )
    database[task_image_collection_name(dataset_with_images.pk)].insert_one({"_id": "t1_0", "task_id": "t1"})
    return dataset_with_images, other


@pytest.mark.parametrize("status", ["waiting", "initializing", "working", "reviewing", "rejected", "accepted"])
def test_cascade_delete_refused_while_project_unfinished(labelled, status):
    dataset, other = labelled
    _project("p1", status, dataset.pk, other.pk)
    with pytest.raises(DatasetOccupied) as info:
        DataSet.cascade_delete(dataset)
    assert info.value.code == 400207
    assert info.value.http_status == 400
    assert "project p1" in info.value.message
    assert DataSet.objects.filter(pk=dataset.pk).exists()
    assert Image(dataset.pk).count_num({}) == 30
    assert Label.objects.filter(dataset_id=dataset.pk).exists()
    assert mongo.get_collection("label_tasks").count_documents({}) == 3
    assert mongo.get_collection("label_task_roles").count_documents({}) == 3
    assert len(mongo.get_collection("label_projects").find_one({"_id": "p1"})["datasets"]) == 2


def test_cascade_delete_removes_everything_of_the_dataset_only(labelled):
    dataset, other = labelled
    _project("p1", "exported", dataset.pk, other.pk)
    _project("p2", "working", other.pk)
    database = mongo.get_database()
    DataSet.cascade_delete(dataset)
    assert not DataSet.objects.filter(pk=dataset.pk).exists()
    assert not Label.objects.filter(dataset_id=dataset.pk).exists()
    assert not Category.objects.filter(dataset_id=dataset.pk).exists()
    names = set(database.list_collection_names())
    assert image_collection_name(dataset.pk) not in names
    assert task_image_collection_name(dataset.pk) not in names
    assert sorted(doc["_id"] for doc in database["label_tasks"].find()) == ["t3"]
    assert sorted(doc["_id"] for doc in database["label_task_roles"].find()) == ["r3"]
    assert database["label_projects"].find_one({"_id": "p1"})["datasets"] == [{"id": other.pk, "name": other.pk}]
    # the bystander is untouched
    assert Image(other.pk).count_num({}) == 1
    assert Label.objects.filter(dataset_id=other.pk).count() == 1


def test_recreated_dataset_with_same_id_gets_indexes_again():
    dataset = DataSet.create_dataset("a", id_="again")
    DataSet.cascade_delete(dataset)
    DataSet.create_dataset("a", id_="again")
    keys = [index["key"] for index in Image("again").get_collection().index_information().values()]
    assert [("idx", 1)] in keys
