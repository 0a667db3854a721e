"""``dds_site.admin_display``: DDS's millisecond timestamps and job records made readable, escaped."""

from __future__ import annotations

import pytest

from dds_site.admin_display import EMPTY, job_table, key_values, ms_datetime


@pytest.mark.parametrize("value", [0, None, -5, "123", True, 10**20])
def test_unknown_or_bad_timestamps_show_a_dash(value):
    assert ms_datetime(value) == EMPTY


def test_timestamp_in_milliseconds_is_a_date(settings):
    settings.TIME_ZONE = "UTC"
    assert ms_datetime(1_700_000_000_000) == "Nov. 14, 2023, 10:13 p.m."


def test_job_table_shows_state_progress_dates_and_details(settings):
    settings.TIME_ZONE = "UTC"
    html = str(
        job_table(
            {
                "import": {
                    "state": "finished",
                    "progress": 1.0,
                    "started_ts": 1_700_000_000_000,
                    "finished_ts": 1_700_000_060_000,
                    "num_images": 3,
                    "format": "<coco>",
                    "owner": "a1b2c3",
                    "pid": 4242,
                    "labels": {
                        "f00": {
                            "name": "det",
                            "compare_precisions": [{"precision": 0.9}, {"precision": 0.8}],
                            "coco_metrics": {"map": 0.3333},
                        }
                    },
                },
                "FNFPCalculator": "ready",
            }
        )
    )
    assert "<th>import</th><td>finished</td><td>100%</td>" in html
    assert "2023-11-14 22:13:20" in html
    assert "2023-11-14 22:14:20" in html
    assert "<div>num images: 3</div>" in html
    assert "<div>labels: det (compare precisions: 2 entries, coco metrics: map: 0.333)</div>" in html
    assert "a1b2c3" not in html  # the job runner's bookkeeping
    assert "4242" not in html
    assert "&lt;coco&gt;" in html
    assert "<th>FNFPCalculator</th><td>ready</td>" in html


def test_empty_values_show_a_dash():
    assert job_table({}) == EMPTY
    assert job_table(None) == EMPTY
    assert key_values({}) == EMPTY


def test_key_values_are_escaped():
    html = str(key_values({"gt": "<script>", "nested": {"a": [1, 2]}}))
    assert "<script>" not in html
    assert "<dt>nested</dt><dd>a: 1, 2</dd>" in html


def test_job_table_shows_a_count_of_a_total_as_jobs_record_it():
    html = str(job_table({"import": {"state": "running", "progress": 250, "total": 1000}, "fnfp": {"progress": 0}}))
    assert "<th>import</th><td>running</td><td>250 / 1000 (25%)</td>" in html
    assert "<td>0</td>" in html
