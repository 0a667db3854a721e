"""SVG markup of ``datasets.overlays`` drawables, to lay over an image of any displayed size.

The ``viewBox`` is the stored image size, so every coordinate is a stored image pixel and the browser
does the scaling; strokes keep their on-screen width (``vector-effect: non-scaling-stroke`` in the
stylesheet). Each annotation is one ``<g class="ov">`` carrying what the page's script filters on
(``data-label``, ``data-type``, ``data-conf``, ``data-cat``, ``data-state``); one hidden at first has
the class ``off``. Built as strings, not with template loops: a gallery page draws thousands of shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from datasets.overlays import Box, Drawable, MaskImage, Polygon, Skeleton

POINT_RADIUS_FRACTION = 0.011  # of the image's longest side


def _n(value: float) -> str:
    """A coordinate with at most two decimals, without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _shape(shape, radius: float) -> str:
    if isinstance(shape, Box):
        return (
            f'<rect class="ov-box" x="{_n(shape.x)}" y="{_n(shape.y)}" '
            f'width="{_n(shape.width)}" height="{_n(shape.height)}"/>'
        )
    if isinstance(shape, Polygon):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in shape.points)
        return f'<polygon class="ov-poly" points="{points}"/>'
    if isinstance(shape, Skeleton):
        parts = ['<g class="ov-kp">']
        for first, second in shape.lines:
            a, b = shape.keypoints[first], shape.keypoints[second]
            parts.append(f'<line x1="{_n(a.x)}" y1="{_n(a.y)}" x2="{_n(b.x)}" y2="{_n(b.y)}"/>')
        for point in shape.keypoints:
            kind = "kp-vis" if point.visible else "kp-occ"
            parts.append(
                f'<circle class="{kind}" cx="{_n(point.x)}" cy="{_n(point.y)}" r="{_n(radius)}">'
                f"<title>{escape(point.name)}</title></circle>"
            )
        parts.append("</g>")
        return "".join(parts)
    if isinstance(shape, MaskImage):
        return (
            f'<image class="ov-mask" x="{shape.x}" y="{shape.y}" width="{shape.width}" height="{shape.height}" '
            f'preserveAspectRatio="none" href="{shape.data_uri}"/>'
        )
    raise TypeError(f"not a shape: {shape!r}")


def drawable_title(drawable: Drawable) -> str:
    """The tooltip of an annotation: category, label set, confidence of a prediction, FN/FP state."""
    parts = [drawable.category_name or "(no category)", drawable.label_name]
    if drawable.label_type == "Pred":
        parts.append(f"{drawable.conf:.2f}")
    if drawable.state:
        parts.append(drawable.state)
    return " · ".join(part for part in parts if part)


def svg_overlay(
    drawables: Iterable[Drawable],
    width: float,
    height: float,
    *,
    visible: Callable[[Drawable], bool] | None = None,
) -> SafeString:
    """An ``<svg>`` with one group per drawable; ``visible(d)`` False marks a group ``off``."""
    if not width or not height:
        return mark_safe("")
    radius = max(width, height) * POINT_RADIUS_FRACTION
    parts = [
        f'<svg class="ov-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" '
        'preserveAspectRatio="none" aria-hidden="true">'
    ]
    for drawable in drawables:
        if not drawable.shapes:
            continue
        classes = "ov" if visible is None or visible(drawable) else "ov off"
        parts.append(
            f'<g class="{classes}" style="color:{drawable.color}" data-label="{escape(drawable.label_id)}" '
            f'data-type="{escape(drawable.label_type)}" data-conf="{drawable.conf:g}" '
            f'data-cat="{escape(drawable.category_id)}" data-state="{drawable.state}" data-index="{drawable.index}">'
            f"<title>{escape(drawable_title(drawable))}</title>"
        )
        parts.extend(_shape(shape, radius) for shape in drawable.shapes)
        parts.append("</g>")
    parts.append("</svg>")
    # every value taken from the data above is escaped, or a number formatted here
    return mark_safe("".join(parts))  # noqa: S308
