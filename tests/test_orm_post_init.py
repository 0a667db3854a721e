"""DDS's ``post_init`` hook on the ORM-backed models: run after construction and after loading."""

from __future__ import annotations

import pytest

from accounts.models import User, UserToken
from datasets.models import Category, DataSet, Label
from labeling.models import LabelProject, LabelTask, ProjectRole, TaskRole

ORM_MODELS = (Category, DataSet, Label, LabelProject, LabelTask, ProjectRole, TaskRole, User, UserToken)


@pytest.fixture
def calls(monkeypatch):
    seen: list[tuple[str, str]] = []

    def record(self) -> None:
        seen.append((type(self).__name__, self.pk))

    for model in ORM_MODELS:
        monkeypatch.setattr(model, "post_init", record)
    return seen


@pytest.mark.parametrize("model", ORM_MODELS, ids=lambda model: model.__name__)
def test_post_init_runs_on_construction_and_from_dict(model, calls):
    model(id="a1")
    model.from_dict({"_id": "b2"})
    assert calls == [(model.__name__, "a1"), (model.__name__, "b2")]


def test_post_init_runs_on_objects_loaded_from_the_database(db, calls):
    DataSet.objects.create(id="d" * 32, name="set")
    User.objects.create_user("poster", "poster-pw-123")
    calls.clear()
    DataSet.objects.get(pk="d" * 32)
    User.get_user("poster")
    assert [name for name, _ in calls] == ["DataSet", "User"]


def test_post_init_default_is_a_no_op():
    dataset = DataSet(id="x", name="unchanged")
    assert dataset.post_init() is None
    assert dataset.name == "unchanged"
