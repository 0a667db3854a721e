"""Objects written back by a project export have the stored ``Object`` shape of every other writer."""

from __future__ import annotations

from datasets.images import Image
from datasets.models import Label
from datasets.objects import Object
from tests.labeling.test_export import _finish, accepted  # noqa: F401 - the fixture is used by name

OBJECT_FIELDS = list(Object.model_fields)


def test_exported_objects_have_the_object_shape(accepted, small_datasets):  # noqa: F811 - fixture
    project, tasks, users = accepted
    _finish(project, tasks, users)
    project.export_project("shape")
    dataset = small_datasets[0]
    label = Label.objects.get(dataset_id=dataset.pk, name=f"shape[{project.pk[:8]}]")
    exported = [
        obj
        for doc in Image(dataset.pk).get_collection().find({})
        for obj in doc["objects"]
        if obj["label_id"] == label.pk
    ]
    assert exported
    for obj in exported:
        assert list(obj) == OBJECT_FIELDS  # confirm_type included, as every other writer stores it
        assert Object.model_validate(obj).model_dump() == obj
    polygon = next(obj for obj in exported if obj["segmentation"])
    assert (polygon["category_name"], polygon["segmentation"], polygon["bounding_box"]) == ("dog", "1,1,5,1,5,5", {})
    assert (polygon["conf"], polygon["mask"], polygon["confirm_type"]) == (1.0, {}, 0)
