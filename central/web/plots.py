"""Small inline SVG charts (no script, no CDN): horizontal bars with labels and values."""
from __future__ import annotations

from html import escape

from markupsafe import Markup


def bars(title: str, data: list[tuple[str, float]], *, percent: bool = False, width: int = 460) -> Markup:
    """A horizontal bar chart; labels and the title are escaped."""
    row, label_w, pad = 22, 140, 6
    height = 28 + row * max(1, len(data))
    top = max((v for _, v in data), default=0) or 1
    bar_w = width - label_w - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
             f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    for i, (label, value) in enumerate(data):
        y = 28 + i * row
        w = max(1.0, bar_w * value / top) if value else 0.0
        shown = f"{value * 100:.1f}%" if percent else f"{value:,.0f}"
        parts.append(f'<text x="{label_w - pad}" y="{y + 14}" text-anchor="end">{escape(label[:22])}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" class="bar"/>'
                     f'<text x="{label_w + w + pad:.1f}" y="{y + 14}">{shown}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
