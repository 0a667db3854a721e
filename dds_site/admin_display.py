"""Readable admin values for DDS's stored shapes: millisecond timestamps as dates, job records as tables."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

EMPTY = "—"
_TIME_KEYS_MS = ("started_ts", "heartbeat_ts", "finished_ts")
_TABLE_TIME = "Y-m-d H:i:s"  # compact and sortable in a table cell
# Bookkeeping of the job runner (who holds the job, its attempt), not what an operator reads first.
_RUNNER_KEYS = frozenset({"attempt", "owner", "pid", "host", "pending"})


def ms_datetime(value: Any, format_name: str = "DATETIME_FORMAT") -> str:
    """A DDS timestamp in milliseconds as a local date and time; ``—`` when unknown (0 or None)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return EMPTY
    try:
        moment = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return EMPTY
    return formats.date_format(timezone.localtime(moment), format_name)


def _plain(value: Any) -> str:
    """A stored value as short text: nested records named by their ``name``, long lists counted."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        if isinstance(value.get("name"), str):
            rest = {key: item for key, item in value.items() if key != "name"}
            return f"{value['name']} ({_plain(rest)})" if rest else value["name"]
        return ", ".join(_named(key, item) for key, item in value.items()) or EMPTY
    if isinstance(value, list | tuple):
        if any(isinstance(item, dict | list | tuple) for item in value):
            return f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}"
        return ", ".join(_plain(item) for item in value) or EMPTY
    return str(value)


def _named(key: str, item: Any) -> str:
    """``key: value``, or the value alone when it names itself (a record keyed by its id)."""
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return _plain(item)
    return f"{key.replace('_', ' ')}: {_plain(item)}"


def _details(entry: dict) -> SafeString:
    shown = [
        (key.replace("_", " "), _plain(value))
        for key, value in entry.items()
        if key not in ("state", "progress", *_TIME_KEYS_MS)
        and key not in _RUNNER_KEYS
        and value not in (None, "", [], {})
    ]
    return format_html_join("", "<div>{}: {}</div>", shown)


def _progress_text(progress: Any, total: Any) -> str:
    """Jobs count ``progress`` of ``total`` items (images, steps); older entries kept a fraction."""
    if type(progress) is int and type(total) is int and total > 0:
        return f"{progress} / {total} ({progress / total:.0%})"
    if type(progress) is int:
        return str(progress)
    if type(progress) is float and 0 <= progress <= 1:
        return f"{progress:.0%}"
    return ""


def job_table(detail_status: Any) -> SafeString | str:
    """``DataSet.detail_status`` (job name -> record, or DDS's plain processor state) as a table."""
    if not isinstance(detail_status, dict) or not detail_status:
        return EMPTY
    rows = []
    for name, entry in detail_status.items():
        if not isinstance(entry, dict):
            rows.append((name, _plain(entry), "", "", "", ""))
            continue
        progress_text = _progress_text(entry.get("progress"), entry.get("total"))
        details = _details(entry)
        rows.append(
            (
                name,
                _plain(entry.get("state", EMPTY)),
                progress_text,
                ms_datetime(entry.get("started_ts"), _TABLE_TIME),
                ms_datetime(entry.get("finished_ts"), _TABLE_TIME),
                details,
            )
        )
    return _table(
        "dds-jobs",
        ("Job", "State", "Progress", "Started", "Finished", "Details"),
        '<tr><th>{}</th><td>{}</td><td>{}</td><td style="white-space:nowrap">{}</td>'
        '<td style="white-space:nowrap">{}</td><td style="overflow-wrap:anywhere">{}</td></tr>',
        rows,
    )


def precision_table(levels: Any) -> SafeString | str:
    """A label's FN/FP ``compare_precisions`` (``[{precision, threshold, recall}]``) as a table."""
    if not isinstance(levels, list) or not levels:
        return EMPTY
    rows = [
        (_plain(level.get("precision")), _plain(level.get("threshold")), _plain(level.get("recall")))
        for level in levels
        if isinstance(level, dict)
    ]
    return _table(
        "dds-levels",
        ("Precision", "Confidence threshold", "Recall"),
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        rows,
    )


def _table(css_class: str, headers: tuple[str, ...], row_html: str, rows: list[tuple]) -> SafeString:
    """A table with one header row; ``row_html`` is the format of a row, filled (escaped) from each tuple."""
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join("", row_html, rows)
    return format_html('<table class="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', css_class, head, body)


def key_values(data: Any) -> SafeString | str:
    """A small dict as a definition list (nested values flattened to text)."""
    if not isinstance(data, dict) or not data:
        return EMPTY
    items = format_html_join("", "<dt>{}</dt><dd>{}</dd>", ((key, _plain(value)) for key, value in data.items()))
    return format_html('<dl class="dds-kv">{}</dl>', items)


def badge(text: str, color: str) -> SafeString:
    """A small coloured label (``color`` is a CSS colour chosen by the caller, never from data)."""
    return format_html(
        '<span style="display:inline-block;padding:1px 7px;border-radius:3px;color:#fff;background:{};'
        'font-size:0.75rem;font-weight:600">{}</span>',
        color,
        text,
    )
