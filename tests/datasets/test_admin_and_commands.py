"""Dataset admin pages and actions; the create/delete/list dataset commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from datasets.images import image_collection_name
from datasets.models import DataSet
from dds_site import mongo

pytestmark = pytest.mark.usefixtures("db")


def _occupy(dataset: DataSet) -> None:
    mongo.get_collection("label_projects").insert_one(
        {"_id": "p1", "name": "Busy Project", "status": "accepted", "datasets": [{"id": dataset.pk, "name": "x"}]}
    )


def test_admin_changelist_and_change_pages_render(admin_client, dataset_with_images):
    response = admin_client.get("/admin/datasets/dataset/", {"q": "cat"})
    assert response.status_code == 200
    assert b"cats" in response.content
    response = admin_client.get(f"/admin/datasets/dataset/{dataset_with_images.pk}/change/")
    assert response.status_code == 200
    assert b"detail_status" in response.content
    for page, text in (("/admin/datasets/category/", b"dog"), ("/admin/datasets/label/", b"GroundTruth")):
        response = admin_client.get(page)
        assert response.status_code == 200
        assert text in response.content
        assert b"cats" in response.content


def test_admin_delete_action_asks_first(admin_client, dataset_with_images):
    response = admin_client.post(
        "/admin/datasets/dataset/",
        {"action": "cascade_delete_selected", "_selected_action": [dataset_with_images.pk]},
    )
    assert response.status_code == 200
    assert b'name="post" value="yes"' in response.content
    assert b'value="cascade_delete_selected"' in response.content
    assert dataset_with_images.name.encode() in response.content
    assert DataSet.objects.filter(pk=dataset_with_images.pk).exists()
    assert image_collection_name(dataset_with_images.pk) in mongo.get_database().list_collection_names()


def test_admin_delete_action_cascades(admin_client, dataset_with_images):
    response = admin_client.post(
        "/admin/datasets/dataset/",
        {"action": "cascade_delete_selected", "_selected_action": [dataset_with_images.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert not DataSet.objects.filter(pk=dataset_with_images.pk).exists()
    assert image_collection_name(dataset_with_images.pk) not in mongo.get_database().list_collection_names()


def test_admin_delete_action_reports_refusal(admin_client, dataset_with_images):
    _occupy(dataset_with_images)
    response = admin_client.post(
        "/admin/datasets/dataset/",
        {"action": "cascade_delete_selected", "_selected_action": [dataset_with_images.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Busy Project" in response.content
    assert DataSet.objects.filter(pk=dataset_with_images.pk).exists()


def test_admin_delete_view_uses_cascade_and_reports_refusal(admin_client, dataset):
    url = f"/admin/datasets/dataset/{dataset.pk}/delete/"
    assert admin_client.get(url).status_code == 200
    _occupy(dataset)
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert b"Busy Project" in response.content
    assert DataSet.objects.filter(pk=dataset.pk).exists()
    mongo.get_collection("label_projects").delete_many({})
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not DataSet.objects.filter(pk=dataset.pk).exists()


def test_create_list_delete_commands():
    out = io.StringIO()
    call_command("create_dataset", "birds", "--description", "flying", stdout=out)
    dataset_id = out.getvalue().strip()
    assert DataSet.objects.get(pk=dataset_id).description == "flying"
    out = io.StringIO()
    call_command("list_datasets", stdout=out)
    assert f"{dataset_id}\tready\t0\tbirds" in out.getvalue()
    call_command("delete_dataset", dataset_id, stdout=io.StringIO())
    assert not DataSet.objects.filter(pk=dataset_id).exists()


def test_commands_turn_errors_into_command_errors(dataset):
    with pytest.raises(CommandError, match="404050"):
        call_command("delete_dataset", "missing")
    _occupy(dataset)
    with pytest.raises(CommandError, match="400207"):
        call_command("delete_dataset", dataset.pk)
    with pytest.raises(CommandError, match="400002"):
        call_command("create_dataset", " ")


def test_admin_change_writes_only_changed_fields(admin_client, dataset):
    url = f"/admin/datasets/dataset/{dataset.pk}/change/"
    form = {"name": "renamed", "description": "some cats", "type": "", "path": "", "status": "ready"}
    form.update({"group_id": "", "group_name": "", "_save": "Save"})
    DataSet.objects.filter(pk=dataset.pk).update(num_images=42)  # e.g. an import running meanwhile
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    stored = DataSet.objects.get(pk=dataset.pk)
    assert (stored.name, stored.num_images) == ("renamed", 42)


def test_admin_cannot_change_a_datasets_status(admin_client, dataset):
    url = f"/admin/datasets/dataset/{dataset.pk}/change/"
    DataSet.objects.filter(pk=dataset.pk).update(status="importing")  # an import runs
    assert b'name="status"' not in admin_client.get(url).content
    form = {"name": "renamed", "description": "", "type": "", "path": "", "status": "ready"}
    form.update({"group_id": "", "group_name": "", "_save": "Save"})
    assert admin_client.post(url, form).status_code == 302
    stored = DataSet.objects.get(pk=dataset.pk)
    assert (stored.name, stored.status) == ("renamed", "importing")


def test_dataset_update_changes_only_editable_fields(dataset):
    from datasets import services
    from datasets.errors import InvalidDatasetArgument

    with pytest.raises(InvalidDatasetArgument, match="status"):
        services.dataset_update(dataset=dataset, status="ready", name="x")
    with pytest.raises(InvalidDatasetArgument, match="non-empty"):
        services.dataset_update(dataset=dataset, name=" ")
    assert DataSet.objects.get(pk=dataset.pk).name == dataset.name
    services.dataset_update(dataset=dataset, path="/data/cats", group_name="pets")
    stored = DataSet.objects.get(pk=dataset.pk)
    assert (stored.path, stored.group_name) == ("/data/cats", "pets")
