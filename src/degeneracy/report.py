"""Self-contained HTML reports: figures inline, tables, settings and software versions.

The report is one file with no external resources (PNG figures embedded as base64 data
URIs, inline CSS, no scripts), so it can be mailed, archived, or opened offline.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .files import atomic_open
from .provenance import software_versions


@dataclass
class Table:
    """A table: column names, rows of cells (numbers are formatted), optional note."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    note: str = ""


@dataclass
class Figure:
    """A PNG figure file shown inline, with a caption."""

    path: Path
    caption: str


@dataclass
class Section:
    """A report section: heading, paragraphs, tables, figures (in that order)."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def format_cell(value: Any) -> str:
    """Numbers to 4 significant digits (scientific when very large or small), else str."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(c))}</td>" for c in row) + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f"<h3>{html.escape(table.title)}</h3><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{note}"
    )


def _figure_html(figure: Figure) -> str:
    data = base64.b64encode(Path(figure.path).read_bytes()).decode("ascii")
    caption = html.escape(figure.caption)
    return (
        f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}
figcaption,.note{font-size:.85em;color:#555}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
"""


def render_report(
    title: str,
    sections: Sequence[Section],
    *,
    settings: dict[str, Any],
    versions: dict[str, str] | None = None,
    introduction: str = "",
) -> str:
    """The complete HTML document as a string."""
    versions = software_versions() if versions is None else versions
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Generated {stamp} by degeneracy '
        f"{html.escape(versions.get('degeneracy', '?'))}.</p>",
    ]
    if introduction:
        parts.append(f"<p>{html.escape(introduction)}</p>")
    for section in sections:
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        parts.extend(f"<p>{html.escape(p)}</p>" for p in section.paragraphs)
        parts.extend(_table_html(t) for t in section.tables)
        parts.extend(_figure_html(f) for f in section.figures)
    settings_rows = [(k, v) for k, v in settings.items()]
    parts.append(_table_html(Table("Settings", ["setting", "value"], settings_rows)))
    parts.append(_table_html(Table("Software", ["package", "version"], list(versions.items()))))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(path: str | os.PathLike, document: str) -> None:
    """Write the HTML atomically."""
    with atomic_open(path) as handle:
        handle.write(document)
