"""The one background writer of the datasets store (imports, the image buffer, FN/FP results)."""

from __future__ import annotations

import threading

import pytest

from datasets.store import BackgroundWriter


def test_batches_are_written_in_order_on_another_thread():
    written, threads = [], set()

    def write(batch):
        threads.add(threading.get_ident())
        written.append(batch)

    with BackgroundWriter(write, name="test-writer") as writer:
        for number in range(20):
            writer.put([number])
    assert written == [[number] for number in range(20)]
    assert threads
    assert threading.get_ident() not in threads


def test_a_write_error_is_raised_on_the_callers_thread_and_later_batches_are_dropped():
    written = []
    failed = threading.Event()

    def write(batch):
        if batch == "bad":
            failed.set()
            raise RuntimeError("disk full")
        written.append(batch)

    writer = BackgroundWriter(write, name="test-writer")
    writer.put("good")
    writer.put("bad")
    failed.wait(5)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.put("after")
    with pytest.raises(RuntimeError, match="disk full"):
        writer.close()
    assert written == ["good"]


def test_an_error_of_the_block_wins_over_a_write_error():
    def write(batch):
        raise RuntimeError("write failed")

    def parse_and_write():
        with BackgroundWriter(write, name="test-writer") as writer:
            writer.put("x")
            raise ValueError("parse failed")

    with pytest.raises(ValueError, match="parse failed"):
        parse_and_write()


def test_close_waits_for_every_batch():
    release = threading.Event()
    written = []

    def write(batch):
        release.wait(5)
        written.append(batch)

    writer = BackgroundWriter(write, name="test-writer", depth=1)
    writer.put(1)
    release.set()
    writer.put(2)
    writer.close()
    assert written == [1, 2]
    writer.close()  # closing twice is harmless
