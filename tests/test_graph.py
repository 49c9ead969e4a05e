"""The step graph: built from the runbook, cycles, ancestry, redundancy, critical path."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from rb.graph import Ancestry, critical_path, cycles, generations, step_budget
from rb.loader import load_text
from rb.model import Runbook, Step
from rb.policies import Retry

from .conftest import ROOT, diagnose


def book(deps: dict[str, list[str]]) -> Runbook:
    """A runbook of wait steps with these dependencies, in this order."""
    lines = ["id: g", "name: g", 'version: "1"', "steps:"]
    for sid, ds in deps.items():
        needs = ", ".join(ds)
        step = f"id: {sid}, type: wait, depends_on: [{needs}], inputs: {{seconds: 0}}"
        lines.append(f"  - {{{step}}}")
    loaded = load_text("\n".join(lines) + "\n")
    assert loaded.runbook is not None, loaded.diagnostics
    return loaded.runbook


def test_the_runbook_graph_carries_steps_on_nodes_and_dependencies_on_edges() -> None:
    runbook = book({"a": [], "b": ["a", "missing", "b"], "c": ["b", "a"]})
    graph = runbook.graph
    assert list(graph) == ["a", "b", "c"]  # file order
    assert graph.nodes["b"]["step"] is runbook.steps[1]
    # dependency -> dependent; unknown and self dependencies are left to RB031/RB032
    assert list(graph.edges(data="entry")) == [("a", "b", 0), ("a", "c", 1), ("b", "c", 0)]
    assert runbook.graph is graph  # built once


def test_a_cycle_names_the_entry_last_in_the_file_as_its_last_arrow() -> None:
    (cycle,) = cycles(book({"a": ["c"], "b": ["a"], "c": ["b"]}).graph)
    assert cycle.steps == ("c", "a", "b", "c")
    assert cycle.remove == ("b", "c")


def test_removing_every_named_entry_leaves_the_graph_acyclic() -> None:
    # Two cycles through b: a <-> b and b <-> c.
    runbook = book({"a": ["b"], "b": ["a", "c"], "c": ["b"]})
    found = cycles(runbook.graph)
    assert [c.remove for c in found] == [("a", "b"), ("b", "c")]
    graph = runbook.graph.copy()
    graph.remove_edges_from(c.remove for c in found)
    assert nx.is_directed_acyclic_graph(graph)


def test_cycle_errors_point_at_the_entry_to_remove() -> None:
    text = """\
id: c
name: c
version: "1"
steps:
  - {id: a, type: wait, depends_on: [c], inputs: {seconds: 1}}
  - {id: b, type: wait, depends_on: [a], inputs: {seconds: 1}}
  - {id: c, type: wait, depends_on: [b], inputs: {seconds: 1}}
"""
    (d,) = diagnose(text)
    assert (d.code, d.line, d.col) == ("RB033", 7, 38)
    assert "c → a → b → c; remove 'b' from the depends_on of 'c'" in d.message


def test_cycles_in_deep_chains_do_not_recurse() -> None:
    n = 20_000
    graph: nx.DiGraph[str] = nx.DiGraph()
    for i in range(n):
        graph.add_node(f"s{i}", step=Step(id=f"s{i}", type="wait", index=i))
    for i in range(n):
        graph.add_edge(f"s{i - 1}" if i else f"s{n - 1}", f"s{i}", entry=0)
    (cycle,) = cycles(graph)
    assert len(cycle.steps) == n + 1 and cycle.remove == ("s19998", "s19999")


def test_ancestry_follows_transitive_dependencies_only() -> None:
    runbook = book({"a": [], "b": ["a"], "c": ["a"], "d": ["b"]})
    ancestry = Ancestry.of(runbook.graph)
    assert ancestry.is_ancestor("a", "d")
    assert not ancestry.is_ancestor("c", "d")  # a sibling branch may run later
    assert not ancestry.is_ancestor("d", "a")
    assert not ancestry.is_ancestor("a", "a")
    assert list(ancestry.ancestors("d")) == ["a", "b"]
    assert ancestry.order == ("a", "b", "c", "d")


def _random_dag(rng: random.Random, n: int) -> Runbook:
    deps = {
        f"s{i}": sorted({f"s{rng.randrange(i)}" for _ in range(rng.randrange(4))}) if i else []
        for i in range(n)
    }
    return book(deps)


@pytest.mark.parametrize("seed", range(40))
def test_redundant_entries_are_what_transitive_reduction_drops(seed: int) -> None:
    graph = _random_dag(random.Random(seed), 12).graph
    reduced = nx.transitive_reduction(graph)
    dropped = {e for e in graph.edges if not reduced.has_edge(*e)}
    found = list(Ancestry.of(graph).redundant(graph))
    assert {(dep, sid) for dep, sid, _ in found} == dropped
    for dep, sid, via in found:  # the path it names is real
        assert graph.has_edge(via, sid) and nx.has_path(graph, dep, via)


def test_a_redundant_entry_is_a_warning_at_the_entry() -> None:
    text = """\
id: r
name: r
version: "1"
steps:
  - {id: a, type: wait, inputs: {seconds: 1}}
  - {id: b, type: wait, depends_on: [a], inputs: {seconds: 1}}
  - {id: c, type: wait, depends_on: [b, a], inputs: {seconds: 1}}
"""
    (d,) = diagnose(text)
    assert (d.code, d.line, d.col, d.severity.value) == ("RB070", 7, 41, "warning")
    assert (
        d.message == "step 'c' depends on 'a' already through 'b'; remove 'a' from its depends_on"
    )


def test_missing_dependency_blames_the_step_whose_depends_on_lost_it() -> None:
    # The canary example without bake's depends_on: [smoke_endpoints]. The old
    # message told the author to add smoke_endpoints to publish_analysis.
    text = (ROOT / "runbooks" / "canary-deployment.yaml").read_text(encoding="utf-8")
    old = "    depends_on: [smoke_endpoints]\n"
    assert text.count(old) == 1
    found = [d for d in diagnose(text.replace(old, "")) if d.code == "RB045"]
    assert [d.message for d in found] == [
        "step 'publish_analysis' inputs: step 'smoke_endpoints' may not have run yet: "
        "nothing depends on it; add it to the depends_on of 'bake' (the first step after it "
        "that 'publish_analysis' waits for), or of 'publish_analysis'",
        *(
            f"step {r!r} inputs: step 'start_canary' may not have run yet: it leads to "
            "'smoke_endpoints', on which nothing depends; add 'smoke_endpoints' to the "
            f"depends_on of 'bake' (the first step after it that {r!r} waits for), or "
            f"'start_canary' to that of {r!r}"
            for r in ("promote", "abort_canary")
        ),
    ]


def test_missing_dependency_without_a_likely_link_names_the_reader() -> None:
    text = """\
id: r
name: r
version: "1"
steps:
  - {id: a, type: wait, inputs: {seconds: 1}, outputs: {w: "$.waited_seconds"}}
  - {id: x, type: wait, depends_on: [a], inputs: {seconds: 1}}
  - {id: b, type: wait, inputs: {seconds: "${steps.a.outputs.w}"}}
"""
    (d,) = diagnose(text)
    assert d.code == "RB045"
    assert "add it to the depends_on of 'b' (directly" in d.message


def test_critical_path_by_weight() -> None:
    runbook = book({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    weights = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0}
    order = Ancestry.of(runbook.graph).order
    assert critical_path(runbook.graph, order, weights.__getitem__) == (7.0, ["a", "b", "d"])
    assert generations(runbook.graph) == {"a": 0, "b": 1, "c": 1, "d": 2}


def test_a_step_budget_counts_every_attempt_and_the_delays_between() -> None:
    retry = Retry(max_attempts=3, initial_delay_seconds=2, multiplier=3, max_delay_seconds=5)
    step = Step(id="s", type="wait", index=0, timeout_seconds=10, retry=retry)
    assert step_budget(step) == 10 * 3 + 2 + 5  # delays 2, then 6 capped at 5
    assert step_budget(Step(id="t", type="wait", index=0)) == 0.0


def test_the_engine_refuses_a_cycle_it_was_handed_without_validation() -> None:
    from rb.engine.scheduler import execute
    from rb.plugins import step_types
    from rb.world.fixture import FixtureWorld
    from rb.world.fixture_format import from_data

    runbook = book({"start": [], "a": ["start", "b"], "b": ["a"]})
    world = FixtureWorld(from_data({}))
    with pytest.raises(ValueError, match=r"\['a', 'b'\] never became ready: the graph has a cycle"):
        world.run(lambda: execute(runbook, world, params={}, step_types=step_types()))
