"""Self-contained HTML reports of recorded executions (docs/reports.md).

`render(sections)` turns one or more recorded executions into one HTML file:
inline CSS, an inline SVG of the DAG, screenshots as data: URIs; the page
fetches nothing. A section is one execution, optionally with a heading (an
acceptance scenario's name) and a replay's divergences.

jinja2 is imported only when a report is rendered, never by `rb --help`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from rb.htmlreport.divergences import Divergence, divergences_from
from rb.store.records import Execution

if TYPE_CHECKING:
    import jinja2

    from rb.model import Runbook

__all__ = ["Divergence", "Section", "dag_svg", "divergences_from", "environment", "render", "write"]

TEMPLATE = "report.html.j2"
STATE_COLOURS = {
    "succeeded": "#1a7f37",
    "success": "#1a7f37",
    "failed": "#cf222e",
    "failure": "#cf222e",
    "skipped": "#8c959f",
    "not run": "#ffffff",
}
OTHER_COLOUR = "#bf8700"  # waiting, rolled back, cancelled, timed out...


@dataclass(frozen=True)
class Section:
    """One execution in a report, under an optional heading."""

    run: Execution
    heading: str = ""
    divergences: Sequence[Divergence] | None = None  # None: from a replay's own verdict


def render(sections: Sequence[Section], *, title: str = "", base_dir: Path = Path(".")) -> str:
    """The HTML page of `sections`; screenshot baselines are read under `base_dir`."""
    from rb import __version__
    from rb.htmlreport.view import build

    views = [
        (s.heading, build(s.run, divergences=s.divergences, base_dir=base_dir)) for s in sections
    ]
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            title=title or (views[0][1].title if len(views) == 1 else "rb report"),
            sections=views,
            version=__version__,
        )
    )


def dag_svg(runbook: Runbook, states: Mapping[str, str] | None = None, *, n: int = 0) -> str:
    """The runbook's DAG as an inline SVG element, as a report draws it (safe HTML:
    every value in it is escaped); `n` tells apart the SVGs of one page."""
    from rb.htmlreport.dag import layout

    drawn = layout(runbook, states or {})
    template = environment().get_template("dag.svg.j2")
    return str(template.module.dag_svg(drawn, n))  # type: ignore[attr-defined]


def templates_of(package: str) -> jinja2.Environment:
    """A jinja2 environment over `package`'s templates/ (package data): autoescape on,
    undefined names are errors, the report's step-state colours as filters."""
    import jinja2

    def load(name: str) -> str:
        return resources.files(package).joinpath("templates", name).read_text("utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["colour"] = lambda state: STATE_COLOURS.get(state, OTHER_COLOUR)
    env.filters["ink"] = lambda state: "#24292f" if state in ("not run", "skipped") else "#ffffff"
    return env


def environment() -> jinja2.Environment:
    """The jinja2 environment of the report templates."""
    return templates_of("rb.htmlreport")


def write(path: str | Path, sections: Sequence[Section], *, base_dir: Path = Path(".")) -> None:
    """Write the report of `sections` to `path` (UTF-8)."""
    Path(path).write_text(render(sections, base_dir=base_dir), encoding="utf-8")
