"""The dataset admin's gallery, image page and flag form (Django test client), and the readable dataset pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from datasets import selectors
from datasets.images import Image
from datasets.models import DataSet, Label
from datasets.overlays import category_color
from dds_site.files import resolve_data_path
from tests.datasets.gallery_helpers import HEIGHT, WIDTH, import_gallery_dataset


@pytest.fixture
def root(settings, tmp_path) -> Path:
    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    (tmp_path / "data").mkdir()
    return resolve_data_path(".")


@pytest.fixture
def dataset(db, root) -> DataSet:
    return import_gallery_dataset(root / "coco")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(make_user) -> Client:
    return _client(make_user("root", is_staff=True, is_superuser=True))


def _staff(make_user, name: str, *codenames: str):
    user = make_user(name, is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="datasets", codename=codename))
    return user


def _gallery(dataset_id: str = "gallery") -> str:
    return f"/admin/datasets/dataset/{dataset_id}/gallery/"


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _flags(dataset_id: str = "gallery") -> dict[int, int]:
    return {image["id"]: image.get("flag", 0) for image in Image(dataset_id).find_many({}, to_dict=True)}


def _tiles(html: str) -> list[str]:
    return re.findall(r'<li class="gal-tile[^"]*" data-image="(\d+)"', html)


def _label_id(name: str) -> str:
    return Label.objects.get(dataset_id="gallery", name=name).pk


def _lowest_level(label_id: str) -> str:
    """The FN/FP level with the lowest confidence threshold (where the false positive counts)."""
    entries = Label.objects.get(pk=label_id).compare_precisions
    best = min((entry for entry in entries if entry["threshold"] >= 0), key=lambda entry: entry["threshold"])
    return str(round(best["precision"] * 100))


# --- the dataset pages ----------------------------------------------------------------------------


def test_change_page_links_the_gallery_and_shows_jobs_and_dates(admin_client, dataset):
    response = admin_client.get(f"/admin/datasets/dataset/{dataset.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{_gallery(dataset.pk)}"' in html
    assert '<table class="dds-jobs">' in html
    assert "<th>import</th>" in html
    assert '"state":' not in html  # not raw JSON
    assert str(dataset.created_ts) not in html  # a date, not epoch milliseconds


def test_changelist_has_useful_columns_and_an_escaped_search(admin_client, dataset):
    response = admin_client.get("/admin/datasets/dataset/")
    html = response.content.decode()
    assert "column-created" in html
    assert "Detection, " in html or "Detection" in html
    assert f'href="{_gallery(dataset.pk)}"' in html
    assert "Street scenes" in admin_client.get("/admin/datasets/dataset/", {"q": "street"}).content.decode()
    assert "Street scenes" in admin_client.get("/admin/datasets/dataset/", {"q": "gallery"}).content.decode()
    # user input is matched as text, not as a regular expression
    assert "Street scenes" not in admin_client.get("/admin/datasets/dataset/", {"q": "S.reet"}).content.decode()


def test_label_pages_show_fnfp_levels_and_metrics_as_tables(admin_client, dataset):
    det = Label.objects.get(dataset_id="gallery", name="det")
    listing = admin_client.get("/admin/datasets/label/").content.decode()
    assert f"{det.coco_metrics['map']:.3f}" in listing
    page = admin_client.get(f"/admin/datasets/label/{det.pk}/change/").content.decode()
    assert '<table class="dds-levels">' in page
    assert page.count("<tr><td>") == len(det.compare_precisions)
    assert '<dl class="dds-kv"><dt>map</dt>' in page
    assert "&quot;precision&quot;" not in page  # not raw JSON


# --- the gallery ---------------------------------------------------------------------------------


def test_gallery_draws_each_image_with_its_annotations(admin_client, dataset):
    response = admin_client.get(_gallery())
    html = response.content.decode()
    assert response.status_code == 200
    assert _tiles(html) == ["1", "2", "3"]
    assert html.count(f'viewBox="0 0 {WIDTH} {HEIGHT}"') == 3
    # the cat of image 1: box and polygon in stored pixels
    assert '<rect class="ov-box" x="20" y="10" width="80" height="40"/>' in html
    assert 'points="20,10 100,10 100,50 20,50"' in html
    # the person's keypoints with their skeleton (nose-left eye, nose-right eye)
    assert '<line x1="130" y1="30" x2="150" y2="40"/>' in html
    assert '<line x1="130" y1="30" x2="170" y2="40"/>' in html
    assert html.count('class="kp-vis"') == 2
    assert html.count('class="kp-occ"') == 1
    # the crowd RLE of image 2 as a PNG over its 2x10 pixels
    assert 'class="ov-mask" x="10" y="10" width="2" height="10"' in html
    assert "a cat on a mat" in html
    assert "/api/v1/datasets/gallery/images/1/thumbnail?size=256" in html


def test_gallery_escapes_what_the_data_says(admin_client, dataset):
    collection = Image("gallery").get_collection()
    objects = collection.find_one({"_id": 3})["objects"]
    objects[0]["caption"] = '<img src=x onerror="alert(1)">'
    objects[0]["category_name"] = "<b>cat</b>"
    collection.update_one({"_id": 3}, {"$set": {"objects": objects, "flag": "<i>"}})
    html = admin_client.get(_gallery()).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<b>cat</b>" not in html
    assert "<i>" not in html
    html = admin_client.get(_gallery() + "3/").content.decode()
    assert "<img src=x" not in html
    assert "<b>cat</b>" not in html


def test_gallery_legend_and_label_sets(admin_client, dataset):
    html = admin_client.get(_gallery()).content.decode()
    for category in selectors.category_list(dataset):
        assert f"background:{category_color(category['id'])}" in html
        assert category["name"] in html
    assert f'data-toggle-label="{_label_id("GroundTruth")}"' in html
    assert f'name="conf_{_label_id("det")}"' in html  # a confidence slider for the prediction set only
    assert f'name="conf_{_label_id("GroundTruth")}"' not in html


def test_gallery_pages_with_the_api_cursor(admin_client, dataset):
    first = admin_client.get(_gallery(), {"page_size": 2}).content.decode()
    assert _tiles(first) == ["1", "2"]
    match = re.search(r'href="([^"]+)"[^>]*rel="next"', first)
    next_url = match.group(1).replace("&amp;", "&")
    api = selectors.image_keyset_page(dataset, selectors.image_filters(), cursor=-1, page_size=2)
    assert f"cursor={api[1]}" in next_url
    second = admin_client.get(next_url).content.decode()
    assert _tiles(second) == ["3"]
    assert 'rel="next"' not in second
    assert _link(second, "prev") == _gallery() + "?page_size=2"


def _link(html: str, rel: str) -> str:
    return re.search(rf'href="([^"]+)"[^>]*rel="{rel}"', html).group(1).replace("&amp;", "&")


def test_gallery_pages_forward_and_back(admin_client, dataset):
    pages = [admin_client.get(_gallery(), {"page_size": 1, "flag": "0"}).content.decode()]
    for _ in range(2):
        pages.append(admin_client.get(_link(pages[-1], "next")).content.decode())
    assert [_tiles(html) for html in pages] == [["1"], ["2"], ["3"]]
    assert 'rel="prev"' not in pages[0]
    assert "First page" in pages[2]
    assert "page 3" in pages[2]
    back = admin_client.get(_link(pages[2], "prev")).content.decode()
    assert _tiles(back) == ["2"]
    assert "page 2" in back
    assert 'name="flag" data-autosubmit' in back
    assert "flag=0" in _link(back, "prev")  # the filters travel along
    assert _tiles(admin_client.get(_link(back, "prev")).content.decode()) == ["1"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "-5"}, "cursor"),
        ({"page_size": "0"}, "page_size"),
        ({"flag": "7"}, "flag"),
        ({"fnfp": "nope:90"}, "fnfp"),
        ({"errors": "fp"}, "errors"),
        ({"cursor": "-1", "trail": "1,x"}, "trail"),
        ({"cursor": "-1", "trail": ",".join(["1"] * 51)}, "trail"),
    ],
)
def test_gallery_reports_bad_options_and_shows_the_first_page(admin_client, dataset, params, expected):
    response = admin_client.get(_gallery(), params)
    assert response.status_code == 200
    (message,) = _messages(response)
    assert message.startswith("Ignored an invalid option.")
    assert expected in message
    assert _tiles(response.content.decode()) == ["1", "2", "3"]


def test_gallery_reports_a_bad_confidence(admin_client, dataset):
    response = admin_client.get(_gallery(), {f"conf_{_label_id('det')}": "2"})
    assert "minimum confidence of det" in _messages(response)[0]


def test_gallery_filters_by_category_and_flag(admin_client, dataset):
    ids = {category["name"]: category["id"] for category in selectors.category_list(dataset)}
    assert _tiles(admin_client.get(_gallery(), {"category_id": ids["person"]}).content.decode()) == ["1"]
    # a predicted dog counts as much as a true one, as in the API
    assert _tiles(admin_client.get(_gallery(), {"category_id": ids["dog"]}).content.decode()) == ["1", "2"]
    Image("gallery").get_collection().update_one({"_id": 3}, {"$set": {"flag": 2}})
    html = admin_client.get(_gallery(), {"flag": "2"}).content.decode()
    assert _tiles(html) == ["3"]
    assert '<span class="gal-flag flag-negative">negative</span>' in html
    # a category chip keeps the flag filter; the active chip clears the category
    assert f'href="{_gallery()}?category_id={ids["cat"]}&amp;flag=2"' in html
    html = admin_client.get(_gallery(), {"flag": "2", "category_id": ids["cat"]}).content.decode()
    assert f'href="{_gallery()}?flag=2" data-keep data-category="{ids["cat"]}"' in html


def test_gallery_hides_label_sets_and_low_confidence_predictions(admin_client, dataset):
    det = _label_id("det")
    html = admin_client.get(_gallery(), {"hide": _label_id("GroundTruth")}).content.decode()
    assert html.count('<g class="ov off"') == 5  # every GT object with a shape
    html = admin_client.get(_gallery(), {f"conf_{det}": "0.85"}).content.decode()
    hidden = re.findall(r'<g class="ov off"[^>]*data-conf="([^"]+)"', html)
    assert hidden == ["0.8"]
    assert f'name="conf_{det}" form="gal-filters" min="0" max="1" step="0.05" value="0.85"' in html


def test_gallery_draws_false_positives_and_misses_and_filters_by_them(admin_client, dataset):
    det = _label_id("det")
    level = _lowest_level(det)
    html = admin_client.get(_gallery(), {"fnfp": f"{det}:{level}"}).content.decode()
    assert html.count('data-state="FP"') == 1
    assert html.count('data-state="FN"') == 2  # the dog of image 2, the person of image 1
    assert "false positive" in html
    assert _tiles(admin_client.get(_gallery(), {"fnfp": f"{det}:{level}", "errors": "fp"}).content.decode()) == ["1"]
    assert _tiles(admin_client.get(_gallery(), {"fnfp": f"{det}:{level}", "errors": "fn"}).content.decode()) == [
        "1",
        "2",
    ]


def test_image_page_shows_the_image_at_full_size_with_its_objects(admin_client, dataset):
    response = admin_client.get(_gallery() + "1/", {"page_size": 2})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<img src="/api/v1/datasets/gallery/images/1/file"' in html
    assert f'width="{WIDTH}" height="{HEIGHT}"' in html
    assert html.count('<tr class="ov-row"') == 4  # GT cat and person, predicted cat and dog
    assert "box, keypoints" in html
    assert re.search(r'href="[^"]*/gallery/2/\?page_size=2"[^>]*rel="next"', html)


@pytest.mark.parametrize("image_id", ["99", "abc", str(2**60)])
def test_image_page_of_an_unknown_image_goes_back_to_the_gallery(admin_client, dataset, image_id):
    response = admin_client.get(_gallery() + f"{image_id}/")
    assert response.status_code == 302
    assert response["Location"] == _gallery()
    assert "is not in this dataset" in _messages(response)[0]


def test_gallery_of_a_missing_or_unready_dataset(admin_client, dataset):
    response = admin_client.get(_gallery("nope"))
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    DataSet.objects.filter(pk="gallery").update(status="importing")
    response = admin_client.get(_gallery())
    assert response.status_code == 302
    assert response["Location"] == "/admin/datasets/dataset/gallery/change/"
    assert "opens once the dataset is ready" in _messages(response)[-1]


# --- flags ---------------------------------------------------------------------------------------


def test_flags_are_set_in_bulk_and_the_page_is_kept(admin_client, dataset):
    response = admin_client.post(
        _gallery() + "flags/", {"ids": ["1", "3"], "flag": "1", "return_query": "page_size=2&cursor=0&p=2"}
    )
    assert response.status_code == 302
    assert response["Location"] == _gallery() + "?cursor=0&p=2&page_size=2"
    assert _flags() == {1: 1, 2: 0, 3: 1}
    assert _messages(response) == ["Set the flag of 2 image(s) to positive."]
    assert DataSet.objects.get(pk="gallery").flag_export_link == "/files/dataset_flags/gallery.tsv"


def test_flag_from_the_image_page_returns_there(admin_client, dataset):
    response = admin_client.post(_gallery() + "flags/", {"ids": "2", "flag": "2", "image": "2"})
    assert response["Location"] == _gallery() + "2/"
    assert _flags()[2] == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"ids": ["1"], "flag": "5"}, "No flag was changed: flag object flag value invalid"),
        ({"ids": ["1"], "flag": "x"}, "No flag was changed: flag object flag value invalid"),
        ({"ids": ["1", "x"], "flag": "1"}, "No flag was changed: flag object ids must be a list of image ids."),
        ({"flag": "1"}, "Select the images to flag first."),
    ],
)
def test_bad_flag_input_changes_nothing(admin_client, dataset, data, expected):
    response = admin_client.post(_gallery() + "flags/", data)
    assert response.status_code == 302
    assert _messages(response)[0].startswith(expected)
    assert _flags() == {1: 0, 2: 0, 3: 0}


def test_flags_need_a_post_with_a_csrf_token(make_user, dataset):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    assert client.get(_gallery() + "flags/").status_code == 405
    assert client.post(_gallery() + "flags/", {"ids": ["1"], "flag": "1"}).status_code == 403
    assert _flags() == {1: 0, 2: 0, 3: 0}


# --- who may do what -----------------------------------------------------------------------------


def test_anonymous_and_non_staff_users_are_sent_to_the_login(make_user, dataset):
    for client in (Client(), _client(make_user("plain"))):
        for url in (_gallery(), _gallery() + "1/"):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/")
        assert client.post(_gallery() + "flags/", {"ids": ["1"], "flag": "1"}).status_code == 302
    assert _flags() == {1: 0, 2: 0, 3: 0}


def test_staff_without_dataset_permissions_is_refused(make_user, dataset):
    client = _client(_staff(make_user, "nobody"))
    assert client.get(_gallery()).status_code == 403
    assert client.get(_gallery() + "1/").status_code == 403
    assert client.post(_gallery() + "flags/", {"ids": ["1"], "flag": "1"}).status_code == 403
    assert _flags() == {1: 0, 2: 0, 3: 0}


def test_staff_who_may_only_view_sees_the_gallery_but_cannot_flag(make_user, dataset):
    client = _client(_staff(make_user, "viewer", "view_dataset"))
    html = client.get(_gallery()).content.decode()
    assert _tiles(html) == ["1", "2", "3"]
    assert 'name="ids"' not in html
    assert "Flag as" not in html
    assert client.post(_gallery() + "flags/", {"ids": ["1"], "flag": "1"}).status_code == 403
    assert _flags() == {1: 0, 2: 0, 3: 0}


def test_staff_who_may_change_datasets_can_flag(make_user, dataset):
    client = _client(_staff(make_user, "editor", "view_dataset", "change_dataset"))
    assert 'name="ids"' in client.get(_gallery()).content.decode()
    client.post(_gallery() + "flags/", {"ids": ["2"], "flag": "2"})
    assert _flags() == {1: 0, 2: 2, 3: 0}
