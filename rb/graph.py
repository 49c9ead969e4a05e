"""The step graph: a networkx DiGraph of the runbook, and what is read from it.

`build` makes the graph `Runbook.graph` holds: one node per step id (the first
of duplicated ids wins, as everywhere), carrying the step as `step`, and one
edge per known `depends_on` entry, from the dependency to its dependent,
carrying the entry's position in that list as `entry`. Nodes and edges are
added in file order, so every iteration over the graph is in file order too.

networkx is imported by this module only, and this module only when a graph
is needed, so `rb --help` never pays for it.

Two questions are asked for every step of a large runbook, and networkx
answers them in quadratic time on long chains (`nx.ancestors` per step, or
`nx.transitive_reduction`: 2.4 s for a 3,000-step chain here). `Ancestry`
answers both from one pass over the topological order, with the ancestor sets
kept as integer bit masks, so "may X have run before Y?" is one AND.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    # For types only: the model builds its graph here (Runbook.graph), so
    # this module sits below it and must not import it when running.
    from rb.model import Step


def build(steps: Sequence[Step]) -> nx.DiGraph[str]:
    """The DAG of `steps` (which may still have cycles: `cycles` finds them).

    Unknown dependencies and self-dependencies are left out: the checks report
    them (RB031, RB032) from the steps themselves.
    """
    graph: nx.DiGraph[str] = nx.DiGraph()
    for step in steps:
        if step.id not in graph:
            graph.add_node(step.id, step=step)
    for step in steps:
        if graph.nodes[step.id]["step"] is not step:
            continue  # a duplicated id: RB030 reports it
        for entry, dep in enumerate(step.depends_on):
            if dep in graph and dep != step.id and not graph.has_edge(dep, step.id):
                graph.add_edge(dep, step.id, entry=entry)
    return graph


def step_of(graph: nx.DiGraph[str], sid: str) -> Step:
    """The step a node carries."""
    step: Step = graph.nodes[sid]["step"]
    return step


@dataclass(frozen=True)
class Cycle:
    """A dependency cycle in execution order, closed: [c, a, b, c].

    Its last arrow is the `depends_on` entry to remove: the one that comes last
    in the file, where a reader going down the file sees the circle close.
    """

    steps: tuple[str, ...]

    @property
    def remove(self) -> tuple[str, str]:
        """(dependency, dependent): remove `dependency` from the dependent's depends_on."""
        return self.steps[-2], self.steps[-1]


def cycles(graph: nx.DiGraph[str]) -> list[Cycle]:
    """Cycles whose named edges, once removed, leave the graph acyclic.

    One cycle per strongly connected group, its closing edge cut, again until
    none is left; so a group woven of several cycles gets one message per edge
    that has to go. networkx's searches are iterative: deep chains are fine.
    """
    work = graph
    found: list[Cycle] = []
    while True:
        groups = [g for g in nx.strongly_connected_components(work) if len(g) > 1]
        if not groups:
            return sorted(found, key=lambda c: _file_order(graph, c.remove))
        if work is graph:
            work = graph.copy()  # only a cyclic graph pays for the copy
        for group in groups:
            cycle = _cycle_in(work.subgraph(group))
            found.append(cycle)
            work.remove_edge(*cycle.remove)


def _file_order(graph: nx.DiGraph[str], edge: tuple[str, str]) -> tuple[int, int]:
    """Where the edge's depends_on entry is in the file: (step index, entry)."""
    dep, sid = edge
    entry: int = graph.edges[dep, sid]["entry"]
    return step_of(graph, sid).index, entry


def _cycle_in(group: nx.DiGraph[str]) -> Cycle:
    edges = nx.find_cycle(group)
    last = max(range(len(edges)), key=lambda i: _file_order(group, edges[i][:2]))
    # Rotate so the edge that closes the cycle in the file is the last arrow.
    edges = edges[last + 1 :] + edges[: last + 1]
    return Cycle((edges[0][0], *(e[1] for e in edges)))


@dataclass(frozen=True)
class Ancestry:
    """Which steps always finish before which; build it with `Ancestry.of`."""

    order: tuple[str, ...]  # topological, ties in file order
    _bit: dict[str, int]
    _ancestors: dict[str, int]

    @staticmethod
    def of(graph: nx.DiGraph[str]) -> Ancestry:
        """From an acyclic graph (networkx raises NetworkXUnfeasible on a cycle)."""

        def index(sid: str) -> int:
            return step_of(graph, sid).index

        order = tuple(nx.lexicographical_topological_sort(graph, key=index))
        bit = {node: 1 << i for i, node in enumerate(order)}
        ancestors: dict[str, int] = {}
        pred = graph.pred
        for node in order:
            mask = 0
            for p in pred[node]:
                mask |= ancestors[p] | bit[p]
            ancestors[node] = mask
        return Ancestry(order, bit, ancestors)

    def is_ancestor(self, maybe: str, of: str) -> bool:
        """True if `maybe` always finishes before `of` starts."""
        return bool(self._ancestors[of] & self._bit[maybe])

    def ancestors(self, of: str) -> Iterator[str]:
        """The steps that always finish before `of`, in topological order."""
        mask = self._ancestors[of]
        return (node for node in self.order if mask & self._bit[node])

    def redundant(self, graph: nx.DiGraph[str]) -> Iterator[tuple[str, str, str]]:
        """(dependency, dependent, through): edges implied by a longer path.

        Exactly the edges networkx's `transitive_reduction` drops (a test
        checks that), in file order; `through` is the dependent's other
        dependency that already waits for `dependency`.
        """
        for sid in graph:
            deps = list(graph.pred[sid])
            if len(deps) < 2:
                continue
            # A dependency is never its own ancestor, so one union over all of
            # them finds every redundant entry: linear in the entries.
            waited = 0
            for dep in deps:
                waited |= self._ancestors[dep]
            for dep in deps:
                if waited & self._bit[dep]:
                    via = next(q for q in deps if q != dep and self.is_ancestor(dep, q))
                    yield dep, sid, via

    def missing_link(
        self, graph: nx.DiGraph[str], target: str, reader: str
    ) -> tuple[str, str] | None:
        """The dependency edge that most likely went missing, when `reader` reads `target`.

        `target` is not an ancestor of `reader`. Runbooks are written in the
        order they run, so a lost `depends_on` entry leaves two marks: a step
        that runs after `target` (or `target` itself) on which nothing depends,
        and, after it in the file, one of the reader's ancestors. Returns that
        (dependency, dependent) pair, the closest in the file, or None when
        nothing hangs loose and the reader itself should name the target.
        """
        after_target = [n for n in self.order if n == target or self.is_ancestor(target, n)]
        loose = [n for n in after_target if not graph.out_degree(n)]
        waited = list(self.ancestors(reader))
        pairs = [
            (step_of(graph, v).index - step_of(graph, u).index, u, v)
            for u in loose
            for v in waited
            if step_of(graph, v).index > step_of(graph, u).index and not self.is_ancestor(v, u)
        ]
        if not pairs:
            return None
        _, u, v = min(pairs)
        return u, v


def step_budget(step: Step) -> float:
    """Seconds a step may take before rb gives up on it.

    Every attempt may run to its timeout, and the retry delays (without jitter)
    come between them. A step without a timeout counts only its delays.
    """
    attempts = max(step.retry.max_attempts, 1)
    delays = sum(step.retry.delay(n) for n in range(1, attempts))
    return float(step.timeout_seconds or 0) * attempts + delays


def critical_path(
    graph: nx.DiGraph[str], order: Sequence[str], weight: Callable[[str], float]
) -> tuple[float, list[str]]:
    """The heaviest chain of steps by `weight`: its total and its steps.

    `order` is a topological order of the graph (`Ancestry.order`); among equal
    chains the one met first in it wins, so the answer is stable.
    """
    best: dict[str, tuple[float, str | None]] = {}
    for node in order:
        prev = max(graph.pred[node], key=lambda p: best[p][0], default=None)
        base = best[prev][0] if prev is not None else 0.0
        best[node] = (base + weight(node), prev)
    if not best:
        return 0.0, []
    end = max(best, key=lambda n: best[n][0])
    path: list[str] = []
    cur: str | None = end
    while cur is not None:
        path.append(cur)
        cur = best[cur][1]
    return best[end][0], path[::-1]


def generations(graph: nx.DiGraph[str]) -> dict[str, int]:
    """Each step's generation: 0 for steps that wait for nothing, then one more per wave."""
    return {
        sid: level
        for level, members in enumerate(nx.topological_generations(graph))
        for sid in members
    }


@dataclass(frozen=True)
class Overview:
    """What `rb graph` draws: steps, dependencies, waves and the critical path."""

    steps: tuple[Step, ...]  # file order, one per id
    edges: tuple[tuple[str, str], ...]  # (dependency, dependent), file order
    generation: dict[str, int]
    budget: dict[str, float]  # `step_budget` of each step
    critical: tuple[str, ...]  # empty when no step has a timeout or retry delay
    critical_seconds: float

    def critical_edges(self) -> set[tuple[str, str]]:
        """The edges along the critical path."""
        return set(pairwise(self.critical))


def overview(graph: nx.DiGraph[str]) -> Overview:
    """The overview of an acyclic graph, its critical path weighted by `step_budget`."""
    steps = tuple(step_of(graph, sid) for sid in graph)
    budget = {s.id: step_budget(s) for s in steps}
    total, path = critical_path(graph, Ancestry.of(graph).order, budget.__getitem__)
    return Overview(
        steps=steps,
        edges=tuple((dep, sid) for sid in graph for dep in graph.pred[sid]),
        generation=generations(graph),
        budget=budget,
        critical=tuple(path) if total > 0 else (),
        critical_seconds=total,
    )
