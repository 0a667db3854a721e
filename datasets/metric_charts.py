"""Small server-rendered SVG charts of a prediction set's per-category metrics, for the admin:
precision-recall curves (small multiples), an AP/AP50 bar chart and the confusion matrix as a
heat-map grid with counts.

Input is ``datasets.label_metrics.metrics_of``'s output. Built as strings like
``datasets.overlay_svg``: every value from the data is escaped (category names) or a number
formatted here. Text uses ``currentColor``, so the charts follow the admin's light or dark theme.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

AP_COLOR = "#417690"  # the admin's own blue
AP50_COLOR = "#9cc2d6"
CURVE_COLOR = "#c0392b"
HEAT_RGB = "65,118,144"
FONT = 'font-family="sans-serif" fill="currentColor"'
MAX_LABEL_CHARS = 18


def _n(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _short(name: str, limit: int = MAX_LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _svg(width: float, height: float, css_class: str, label: str, body: list[str]) -> SafeString:
    head = (
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{escape(label)}">'
    )
    # every value taken from the data is escaped, or a number formatted here
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308


def pr_curve_svg(entry: dict, width: int = 150, height: int = 120) -> SafeString:
    """One category's precision-recall curve at IoU .50 (COCO's 101 recall points), with its AP50."""
    left, top, right, bottom = 26, 18, 6, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    name = entry.get("category_name") or ""
    ap50 = entry.get("ap50")
    title = f"{_short(name, 12)} · AP50 {ap50:.2f}" if isinstance(ap50, int | float) else _short(name, 20)
    body = [
        f"<title>{escape(name)}: precision-recall at IoU .50</title>",
        f'<text x="{left}" y="12" font-size="10" {FONT}>{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999" stroke-width="0.5"/>',
        f'<text x="{left - 3}" y="{top + 4}" font-size="8" text-anchor="end" {FONT}>1</text>',
        f'<text x="{left - 3}" y="{top + plot_h}" font-size="8" text-anchor="end" {FONT}>0</text>',
        f'<text x="{left}" y="{height - 4}" font-size="8" {FONT}>0</text>',
        f'<text x="{left + plot_w}" y="{height - 4}" font-size="8" text-anchor="end" {FONT}>recall 1</text>',
    ]
    curve = entry.get("pr_curve") or []
    if curve:
        step = plot_w / 100
        points = [(left + i * step, top + plot_h * (1 - float(p))) for i, p in enumerate(curve)]
        # the curve drops to 0 past the highest recall reached
        points.append((points[-1][0], top + plot_h))
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        body.append(
            f'<polyline class="pr-line" points="{path}" fill="none" stroke="{CURVE_COLOR}" stroke-width="1.5"/>'
        )
    return _svg(width, height, "dds-pr", f"{name} precision-recall curve", body)


def pr_curves_html(categories: list[dict]) -> SafeString:
    """Small multiples: one curve per category with ground truth."""
    charts = [pr_curve_svg(entry) for entry in categories if entry.get("ap") is not None]
    return mark_safe("".join(charts))  # noqa: S308 - each chart is built safe above


def ap_bars_svg(categories: list[dict], width: int = 420) -> SafeString:
    """Horizontal bars per category: AP50 (light) behind AP@[.5:.95] (dark), values at the end."""
    rows = [entry for entry in categories if entry.get("ap") is not None]
    label_w, row_h, top = 120, 16, 18
    bar_w = width - label_w - 70
    height = top + row_h * len(rows) + 4
    body = [
        f'<text x="{label_w}" y="11" font-size="10" {FONT}>'
        f'<tspan fill="{AP_COLOR}">■</tspan> AP@[.5:.95]  <tspan fill="{AP50_COLOR}">■</tspan> AP50</text>'
    ]
    for i, entry in enumerate(rows):
        y = top + i * row_h
        name = entry.get("category_name") or ""
        ap, ap50 = float(entry["ap"]), float(entry.get("ap50") or 0)
        body.append(
            f'<g class="ap-row"><title>{escape(name)}: AP {ap:.3f}, AP50 {ap50:.3f}, '
            f"{int(entry.get('num_gt') or 0)} GT, {int(entry.get('num_pred') or 0)} predicted</title>"
            f'<text x="{label_w - 4}" y="{y + 11}" font-size="10" text-anchor="end" {FONT}>'
            f"{escape(_short(name))}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 4}" fill="#8882"/>'
            f'<rect x="{label_w}" y="{y + 2}" width="{_n(bar_w * ap50)}" height="{row_h - 4}" fill="{AP50_COLOR}"/>'
            f'<rect class="ap-bar" x="{label_w}" y="{y + 4}" width="{_n(bar_w * ap)}" height="{row_h - 8}" '
            f'fill="{AP_COLOR}"/>'
            f'<text x="{_n(label_w + bar_w + 4)}" y="{y + 11}" font-size="9" {FONT}>{ap:.3f} / {ap50:.3f}</text></g>'
        )
    return _svg(width, height, "dds-ap-bars", "AP per category", body)


def confusion_svg(matrix: dict, cell: int = 26) -> SafeString:
    """The confusion matrix as a grid: rows predicted, columns ground truth, the last of each the
    background; a cell's shade grows with its count, which it shows."""
    names = [c.get("name") or "" for c in matrix.get("categories") or []] + ["background"]
    size = len(names)
    counts: dict[tuple[int, int], int] = {}
    for entry in matrix.get("cells") or []:
        pred, actual = int(entry["predicted"]), int(entry["actual"])
        if 0 <= pred < size and 0 <= actual < size:
            counts[pred, actual] = int(entry["count"])
    highest = max(counts.values(), default=0)
    label_w, label_h = 110, 100
    # room on the right for the last column's label, drawn rising to the right
    width, height = label_w + cell * size + 60, label_h + cell * size + 4
    body = []
    for j, name in enumerate(names):  # column labels, rotated
        x = label_w + j * cell + cell / 2 + 3
        body.append(
            f'<text class="cm-col" x="{_n(x)}" y="{label_h - 4}" font-size="10" transform="rotate(-60 {_n(x)} '
            f'{label_h - 4})" {FONT}>{escape(_short(name))}</text>'
        )
    for i, name in enumerate(names):
        y = label_h + i * cell
        body.append(
            f'<text class="cm-row" x="{label_w - 4}" y="{_n(y + cell / 2 + 4)}" font-size="10" text-anchor="end" '
            f"{FONT}>{escape(_short(name))}</text>"
        )
        for j, actual in enumerate(names):
            count = counts.get((i, j), 0)
            shade = count / highest if highest else 0
            x = label_w + j * cell
            fill = f"rgba({HEAT_RGB},{shade:.3f})" if count else "none"
            text_fill = "#fff" if shade > 0.55 else "currentColor"
            body.append(
                f'<g class="cm-cell"><title>predicted {escape(name)}, ground truth {escape(actual)}: {count}</title>'
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" stroke="#999" stroke-width="0.5"/>'
            )
            if count:
                body.append(
                    f'<text x="{_n(x + cell / 2)}" y="{_n(y + cell / 2 + 3.5)}" font-size="9" text-anchor="middle" '
                    f'font-family="sans-serif" fill="{text_fill}">{count}</text>'
                )
            body.append("</g>")
    return _svg(width, height, "dds-confusion", "confusion matrix", body)


def analysis_html(dataset_id: str) -> SafeString | str:
    """The charts of every prediction set of the dataset (the dataset's admin page)."""
    from django.template.loader import render_to_string

    from datasets.label_metrics import category_names, metrics_of
    from datasets.models import Label, LabelType

    labels = list(Label.objects.filter(dataset_id=dataset_id, type=LabelType.PREDICTION).order_by("name"))
    if not labels:
        return "—"
    names = category_names(dataset_id)
    sets = []
    for label in labels:
        if label.category_metrics is None or label.confusion_matrix is None:
            sets.append({"name": label.name, "computed": False})
            continue
        metrics = metrics_of(label, names)
        categories = metrics["category_metrics"]["categories"]
        matrix = metrics["confusion_matrix"]
        sets.append(
            {
                "name": label.name,
                "computed": True,
                "coco_metrics": label.coco_metrics or {},
                "conf_threshold": matrix["conf_threshold"],
                "precision_level": matrix["precision_level"],
                "ap_bars": ap_bars_svg(categories),
                "pr_curves": pr_curves_html(categories),
                "confusion": confusion_svg(matrix),
            }
        )
    return render_to_string("admin/datasets/dataset/_metric_charts.html", {"sets": sets})
