"""The runbook's DAG laid out for an inline SVG, without a layout engine.

Steps sit in columns by their topological generation (longest path from a
step that waits for nothing), in file order within a column, so the drawing
reads left to right as the run did and is the same for the same runbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rb.model import Runbook

NODE_WIDTH = 200
NODE_HEIGHT = 46
COLUMN_GAP = 56
ROW_GAP = 18
MARGIN = 12
_LABEL_CHARS = 22  # a longer step id is cut, with its full id in the node's tooltip


@dataclass(frozen=True)
class Node:
    """One step's box: where it is, what it says, the state it ended in."""

    step_id: str
    label: str
    step_type: str
    state: str  # succeeded | failed | skipped | not run | ...
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    """A dependency, as a cubic curve from the dependency's right to the dependent's left."""

    source: str
    target: str
    path: str


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT


def layout(runbook: Runbook, states: Mapping[str, str]) -> Layout:
    """Place each step of `runbook`; `states` is each step's recorded status."""
    from rb.graph import generations

    graph = runbook.graph
    level = generations(graph)
    columns: dict[int, list[str]] = {}
    for step in runbook.steps:  # file order within a column
        if step.id in level and step.id not in columns.get(level[step.id], []):
            columns.setdefault(level[step.id], []).append(step.id)
    tallest = max((len(c) for c in columns.values()), default=1)
    height = 2 * MARGIN + tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP
    places: dict[str, tuple[int, int]] = {}
    for col, members in columns.items():
        used = len(members) * NODE_HEIGHT + (len(members) - 1) * ROW_GAP
        top = (height - used) // 2  # centre each column vertically
        for row, sid in enumerate(members):
            places[sid] = (
                MARGIN + col * (NODE_WIDTH + COLUMN_GAP),
                top + row * (NODE_HEIGHT + ROW_GAP),
            )
    types = {s.id: s.type for s in runbook.steps}
    nodes = tuple(
        Node(sid, _label(sid), types[sid], states.get(sid, "not run"), x, y)
        for sid, (x, y) in places.items()
    )
    edges = tuple(_edge(a, b, places) for a, b in graph.edges if a in places and b in places)
    width = 2 * MARGIN + len(columns) * NODE_WIDTH + max(len(columns) - 1, 0) * COLUMN_GAP
    return Layout(width, height, nodes, edges)


def _label(step_id: str) -> str:
    return step_id if len(step_id) <= _LABEL_CHARS else step_id[: _LABEL_CHARS - 1] + "…"


def _edge(a: str, b: str, places: Mapping[str, tuple[int, int]]) -> Edge:
    (ax, ay), (bx, by) = places[a], places[b]
    x1, y1 = ax + NODE_WIDTH, ay + NODE_HEIGHT // 2
    x2, y2 = bx, by + NODE_HEIGHT // 2
    bend = max((x2 - x1) // 2, 20)
    return Edge(a, b, f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2 - 6},{y2}")
