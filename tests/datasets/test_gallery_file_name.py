"""The admin gallery's file-name box: the API's ``file_name`` filter, kept by the page's links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from datasets.models import DataSet
from dds_site.files import resolve_data_path
from tests.datasets.gallery_helpers import import_gallery_dataset

GALLERY = "/admin/datasets/dataset/gallery/gallery/"


@pytest.fixture
def dataset(db, settings, tmp_path) -> DataSet:
    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    (tmp_path / "data").mkdir()
    return import_gallery_dataset(Path(resolve_data_path(".")) / "coco")  # img1.jpg, img2.jpg, img3.jpg


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def _tiles(html: str) -> list[str]:
    return re.findall(r'<li class="gal-tile[^"]*" data-image="(\d+)"', html)


def test_gallery_filters_by_file_name_prefix(admin_client, dataset):
    response = admin_client.get(GALLERY, {"file_name": "IMG2"})
    html = response.content.decode()
    assert response.status_code == 200
    assert _tiles(html) == ["2"]
    assert "<strong>1</strong> image match" in html
    assert 'name="file_name" value="IMG2"' in html
    assert "Clear filters" in html
    assert "file_name=IMG2" in html  # the category chips and page links keep it
    assert _tiles(admin_client.get(GALLERY, {"file_name": "img"}).content.decode()) == ["1", "2", "3"]
    assert _tiles(admin_client.get(GALLERY, {"file_name": "img.*"}).content.decode()) == []


def test_gallery_reports_and_ignores_a_blank_file_name(admin_client, dataset):
    html = admin_client.get(GALLERY, {"file_name": "   "}).content.decode()
    assert _tiles(html) == ["1", "2", "3"]
    assert "file_name: This field may not be blank." in html
