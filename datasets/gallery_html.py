"""HTML of the gallery's tiles, built as strings: a page holds hundreds of them, and the template
engine's per-node cost would be most of the page's time. Every value from the data is escaped."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from datasets.gallery import Tile

# (key of Tile.counts, CSS class, text, tooltip)
_COUNTS = (
    ("GT", "c-gt", "GT", "ground truth"),
    ("Pred", "c-pred", "pred", "predictions"),
    ("User", "c-user", "user", "user annotations"),
    ("FP", "c-fp", "FP", "false positives"),
    ("FN", "c-fn", "FN", "missed ground truth"),
)


def _counts(tile: Tile) -> str:
    counts = tile.counts
    return "".join(
        f'<span class="{css}" title="{title}">{counts[key]} {text}</span>'
        for key, css, text, title in _COUNTS
        if counts.get(key)
    )


def _size(value: int) -> str:
    return str(value) if value else "?"


def tile_html(tile: Tile, *, href: str, can_flag: bool) -> str:
    """One ``<li>`` of the grid: the thumbnail with its overlay, the selection box, flag, counts, captions.
    ``href`` is the image page's URL (escaped here)."""
    link = escape(href)
    image_id = escape(tile.id)
    flag_name = escape(tile.flag_name)
    parts = [
        f'<li class="gal-tile flag-{flag_name}" data-image="{image_id}"><div class="gal-stage">',
        f'<a class="gal-thumb" href="{link}" data-keep title="Open image {image_id}">',
        f'<img src="{escape(tile.thumbnail_url)}" width="{tile.thumb_width}" height="{tile.thumb_height}" '
        # the stored image's proportions even when the file is missing and a square placeholder comes
        f'style="aspect-ratio:{tile.thumb_width}/{tile.thumb_height}" ',
        f'alt="Image {image_id}" loading="lazy" decoding="async">{tile.svg}</a>',
    ]
    if can_flag:
        parts.append(
            f'<label class="gal-check" title="Select image {image_id}"><input type="checkbox" name="ids" '
            f'value="{image_id}" aria-label="Select image {image_id}"></label>'
        )
    if tile.flag:
        parts.append(f'<span class="gal-flag flag-{flag_name}">{flag_name}</span>')
    parts.append(
        f'</div><div class="gal-meta"><a href="{link}" data-keep class="gal-id">#{image_id}</a>'
        f'<span class="gal-size">{_size(tile.width)}&times;{_size(tile.height)}</span>'
        f'<span class="gal-counts">{_counts(tile)}</span></div>'
    )
    if tile.captions:
        captions = escape(" · ".join(tile.captions))
        parts.append(f'<p class="gal-caption" title="{captions}">{captions}</p>')
    parts.append("</li>")
    return "".join(parts)


def tiles_html(tiles: list[Tile], *, base_url: str, query: str, can_flag: bool) -> SafeString:
    """The grid's items; each image page is ``<base_url><image id>/<query>``."""
    # every value from the data is escaped in tile_html; the SVG is built escaped by overlay_svg
    return mark_safe(  # noqa: S308
        "".join(tile_html(tile, href=f"{base_url}{tile.id}/{query}", can_flag=can_flag) for tile in tiles)
    )
