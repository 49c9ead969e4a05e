"""The step graph: order, cycles, ancestry and critical paths. Pure functions.

Ancestor sets are kept as integer bit masks over the topological order, so
"may X have run before Y?" is one AND, and building them for 10,000 steps is
linear in the number of edges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dag:
    """An acyclic dependency graph; build it with `Dag.build`."""

    order: tuple[str, ...]  # topological: every step after its dependencies
    parents: Mapping[str, tuple[str, ...]]
    _bit: Mapping[str, int]
    _ancestors: Mapping[str, int]

    @staticmethod
    def build(parents: Mapping[str, Sequence[str]]) -> Dag:
        """Build from `step -> its dependencies`; unknown dependencies are ignored.

        Call `find_cycles` first: a cyclic graph raises ValueError here.
        """
        order = topological_order(parents)
        bit = {node: 1 << i for i, node in enumerate(order)}
        ancestors: dict[str, int] = {}
        clean = {n: tuple(p for p in parents[n] if p in parents and p != n) for n in parents}
        for node in order:
            mask = 0
            for p in clean[node]:
                mask |= ancestors[p] | bit[p]
            ancestors[node] = mask
        return Dag(tuple(order), clean, bit, ancestors)

    def is_ancestor(self, maybe: str, of: str) -> bool:
        """True if `maybe` always finishes before `of` starts."""
        return bool(self._ancestors[of] & self._bit[maybe])

    def children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n: [] for n in self.order}
        for node in self.order:
            for p in self.parents[node]:
                out[p].append(node)
        return out

    def longest_path(self, weight: Callable[[str], float]) -> tuple[float, list[str]]:
        """The heaviest chain of steps by `weight` (e.g. timeouts): total and steps."""
        best: dict[str, tuple[float, str | None]] = {}
        for node in self.order:
            prev = max(self.parents[node], key=lambda p: best[p][0], default=None)
            base = best[prev][0] if prev is not None else 0.0
            best[node] = (base + weight(node), prev)
        if not best:
            return 0.0, []
        end = max(best, key=lambda n: best[n][0])
        total = best[end][0]
        path: list[str] = []
        cur: str | None = end
        while cur is not None:
            path.append(cur)
            cur = best[cur][1]
        return total, path[::-1]


def topological_order(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """Kahn's algorithm, stable in declaration order. ValueError on a cycle."""
    pending = {n: sum(1 for p in set(ps) if p in parents and p != n) for n, ps in parents.items()}
    children: dict[str, list[str]] = {n: [] for n in parents}
    for n, ps in parents.items():
        for p in set(ps):
            if p in parents and p != n:
                children[p].append(n)
    ready = [n for n in parents if pending[n] == 0]
    order: list[str] = []
    i = 0
    while i < len(ready):
        node = ready[i]
        i += 1
        order.append(node)
        for c in children[node]:
            pending[c] -= 1
            if pending[c] == 0:
                ready.append(c)
    if len(order) != len(parents):
        raise ValueError("the graph has a cycle")
    return order


def find_cycles(parents: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of steps, as [a, b, c, a].

    Self-dependencies are left to the caller. Iterative Tarjan, so deep
    chains do not hit Python's recursion limit.
    """
    edges = {n: [p for p in ps if p in parents and p != n] for n, ps in parents.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in parents:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges[node]
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return [_cycle_in(group, edges) for group in groups]


def _cycle_in(group: list[str], edges: Mapping[str, list[str]]) -> list[str]:
    """A cycle through the group's first-declared member, following dependencies."""
    members = set(group)
    order = {n: i for i, n in enumerate(edges)}
    start = min(group, key=order.__getitem__)
    path = [start]
    seen = {start}
    node = start
    while True:
        nxt = next(p for p in edges[node] if p in members)
        if nxt in seen:
            cycle = [*path[path.index(nxt) :], nxt]
            # Read it in execution order: a runs before b before c ... back to a.
            return cycle[::-1]
        path.append(nxt)
        seen.add(nxt)
        node = nxt
