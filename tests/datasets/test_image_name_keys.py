"""The images' file-name search key (``datasets.names``): how it is derived, that every writer stores
it and keeps it in step with the URLs, and that older images get it from the migration and adoption."""

from __future__ import annotations

import unicodedata

import pytest
from django.core.management import call_command

from datasets import store
from datasets.documents import image_document
from datasets.images import Image
from datasets.importers.documents import image_record_document
from datasets.importers.records import ImageRecord
from datasets.names import NAME_KEY, NAME_KEY_MAX_LENGTH, name_key_of, prefix_range, url_file_name
from datasets.objects import local_file_url
from datasets.store.collections import image_collection_name, raw_image_collection
from dds_site import adoption

TSV_INLINE = "/files/local_files/b/2/120_4800/image_jpeg/%2Fdata/val.tsv"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://host/coco/val/000001.JPG?sig=a/b.png#frag", "000001.JPG"),
        ("https://host/a%20b%2Fc.jpg", "a b/c.jpg"),  # an escaped slash is part of the name
        (local_file_url("/data/imgs/x.*[(y.jpg"), "x.*[(y.jpg"),
        (local_file_url("/data/imgs/été 1.png"), "été 1.png"),
        (TSV_INLINE, ""),  # bytes inside the TSV: no file of its own
        ("data:image/png;base64,iVBORw0KGgo=", ""),
        ("http://host/dir/", ""),
        ("http://[broken/a.jpg", ""),
        ("relative/dir/b.jpg", "b.jpg"),
    ],
)
def test_url_file_name_is_the_last_path_segment(url, name):
    assert url_file_name(url) == name


def test_name_key_is_nfc_case_folded_and_bounded():
    decomposed = unicodedata.normalize("NFD", "Café.JPG")
    assert decomposed != "Café.JPG"
    assert name_key_of(decomposed) == name_key_of("CAFÉ.jpg") == "café.jpg"
    assert name_key_of("Straße.png") == "strasse.png"
    assert len(name_key_of("x" * 1000)) == NAME_KEY_MAX_LENGTH


@pytest.mark.parametrize(
    ("prefix", "bounds"),
    [
        ("Cat", {"$gte": "cat", "$lt": "cau"}),
        (".*[(", {"$gte": ".*[(", "$lt": ".*[)"}),
        ("a\ud7ff", {"$gte": "a\ud7ff", "$lt": "a\ue000"}),  # the next character skips the surrogates
        ("a\U0010ffff", {"$gte": "a\U0010ffff", "$lt": "b"}),
        ("\U0010ffff", {"$gte": "\U0010ffff"}),  # nothing sorts after every such name: no upper bound
    ],
)
def test_prefix_range_bounds_every_name_with_the_prefix(prefix, bounds):
    assert prefix_range(prefix) == bounds


def test_builder_derives_the_key_from_the_full_resolution_url():
    document = image_document(
        image_id=1, idx=0, url="http://thumbs/t_1.jpg", url_full_res="http://host/Orig_1.JPG", dataset_id="d", type=None
    )
    assert document[NAME_KEY] == "orig_1.jpg"
    assert image_document(image_id=1, idx=0, url="http://host/Only.PNG", dataset_id="d", type=None)[NAME_KEY] == (
        "only.png"
    )


def test_builder_names_an_inline_tsv_image_by_its_source_key():
    record = ImageRecord(key="Frame_0007.jpg", url=TSV_INLINE, width=4, height=4, metadata={})
    document = image_record_document(record, image_id=7, idx=7, dataset_id="d", dataset_type="tsv")
    assert document[NAME_KEY] == "frame_0007.jpg"
    # a document rebuilt from a stored image without its source key keeps the key it had
    rebuilt = image_document(image_id=7, idx=7, url=TSV_INLINE, dataset_id="d", type="tsv", name_key="frame_0007.jpg")
    assert rebuilt[NAME_KEY] == "frame_0007.jpg"


def _stored_key(dataset, image_id: int) -> str:
    return store.image_document(dataset.pk, image_id)[NAME_KEY]


def test_every_seed_writer_stores_the_key(dataset):
    dataset.add_image("http://host/A.jpg", id=1)
    dataset.batch_add_image("file:///data/B.JPG", id_=2)
    dataset.finish_batch_add_image()
    Image(dataset.pk)(id=3, idx=2, url="http://host/C.png", dataset_id=dataset.pk).add_annotation("cat")
    assert [_stored_key(dataset, image_id) for image_id in (1, 2, 3)] == ["a.jpg", "b.jpg", "c.png"]


def test_re_adding_an_image_follows_its_new_uri(dataset):
    dataset.add_image("http://host/old.jpg", id=1)
    image = dataset.add_image("http://host/New.jpg", id=1)
    assert image.name_key == _stored_key(dataset, 1) == "new.jpg"


def test_updates_of_urls_re_derive_the_key(dataset):
    model = Image(dataset.pk)
    for image_id in (1, 2, 3):
        dataset.add_image(f"http://host/{image_id}.jpg", id=image_id)
    model.update_one({"id": 1}, {"url": "http://host/one.jpg", "url_full_res": ""})
    model.update_many({"id": {"$in": [2, 3]}}, {"url_full_res": "http://host/Two.jpg"})
    assert [_stored_key(dataset, image_id) for image_id in (1, 2, 3)] == ["one.jpg", "two.jpg", "two.jpg"]
    model.batch_update({"id": 1}, {"flag": 1})
    model.batch_update({"id": 1}, {"url_full_res": "http://host/later.jpg"})
    assert _stored_key(dataset, 1) == "later.jpg"
    assert store.image_document(dataset.pk, 1)["flag"] == 1  # the queued update was written first
    model.update_one({"id": 2}, {"flag": 2})  # other fields leave the key alone
    assert _stored_key(dataset, 2) == "two.jpg"


def test_save_after_a_url_change_stores_the_new_key(dataset):
    dataset.add_image("http://host/before.jpg", id=1)
    image = Image(dataset.pk).find_one({"id": 1})
    image.url = image.url_full_res = "http://host/After.jpg"
    image.save()
    assert _stored_key(dataset, 1) == "after.jpg"


def test_an_inline_image_keeps_its_key_through_a_save(dataset):
    collection = Image(dataset.pk).get_collection()
    collection.insert_one(
        image_document(image_id=1, idx=0, url=TSV_INLINE, dataset_id=dataset.pk, type="tsv", source_key="Key_1.jpg")
    )
    image = Image(dataset.pk).find_one({"id": 1})
    image.flag = 1
    image.save()
    assert _stored_key(dataset, 1) == "key_1.jpg"


def _write_old_images(dataset_id: str, urls: list[str]) -> None:
    """Images as earlier versions (and DDS) stored them: no name key."""
    documents = []
    for number, url in enumerate(urls):
        document = image_document(image_id=number, idx=number, url=url, dataset_id=dataset_id, type=None)
        del document[NAME_KEY]
        documents.append(document)
    raw_image_collection(image_collection_name(dataset_id)).insert_many(documents)


def test_backfill_fills_missing_keys_of_every_dataset_and_indexes_them(db):
    _write_old_images("old1", [f"http://host/Img_{number}.jpg" for number in range(5)])
    _write_old_images("old2", [TSV_INLINE, "http://host/x.png"])
    collection = raw_image_collection(image_collection_name("old1"))
    collection.update_one({"_id": 4}, {"$set": {"source_key": "ignored: the URL names it"}})
    assert store.name_keys_backfill(batch_size=2) == 7
    assert [doc[NAME_KEY] for doc in collection.find().sort("_id")] == [f"img_{n}.jpg" for n in range(5)]
    second = raw_image_collection(image_collection_name("old2"))
    assert [doc[NAME_KEY] for doc in second.find().sort("_id")] == ["", "x.png"]
    assert "name_key_1" in second.index_information()
    assert store.name_keys_backfill(batch_size=2) == 0  # idempotent


def test_backfill_writes_in_batches_and_reports_progress(db):
    _write_old_images("old", [f"http://host/{number}.jpg" for number in range(7)])
    seen = []

    def progress(documents, collection):
        for document in documents:
            seen.append(collection)
            yield document

    assert store.name_keys_backfill(batch_size=3, progress=progress) == 7
    assert seen == [image_collection_name("old")] * 7


def test_adoption_gives_dds_images_their_keys(db):
    _write_old_images("dds", ["http://host/Dds.jpg"])
    assert adoption.backfill_image_fields() == 1
    assert store.image_document("dds", 0)[NAME_KEY] == "dds.jpg"


def test_migrate_fills_the_keys_of_images_written_before(db):
    call_command("migrate", "datasets", "0003_source_info", verbosity=0)
    try:
        _write_old_images("old", ["http://host/Before.jpg"])
    finally:
        call_command("migrate", "datasets", verbosity=0)
    assert store.image_document("old", 0)[NAME_KEY] == "before.jpg"
