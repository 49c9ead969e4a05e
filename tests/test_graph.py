"""The step graph: order, cycles, ancestry, critical path."""

from __future__ import annotations

import pytest

from rb.graph import Dag, find_cycles, topological_order


def test_topological_order_keeps_declaration_order_among_ready_steps() -> None:
    parents = {"c": [], "a": [], "b": ["c", "a"], "d": ["b"]}
    assert topological_order(parents) == ["c", "a", "b", "d"]


def test_topological_order_refuses_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        topological_order({"a": ["b"], "b": ["a"]})


@pytest.mark.parametrize(
    ("parents", "cycles"),
    [
        ({"a": ["c"], "b": ["a"], "c": ["b"]}, [["a", "b", "c", "a"]]),
        (
            {"a": ["b"], "b": ["a"], "x": ["y"], "y": ["x"], "z": []},
            [["a", "b", "a"], ["x", "y", "x"]],
        ),
        ({"a": [], "b": ["a"], "c": ["a", "b"]}, []),
        ({"a": ["missing"]}, []),
    ],
)
def test_find_cycles_reports_one_cycle_per_group(
    parents: dict[str, list[str]], cycles: list[list[str]]
) -> None:
    assert sorted(find_cycles(parents)) == sorted(cycles)


def test_find_cycles_handles_deep_chains_without_recursion() -> None:
    n = 20_000
    parents = {f"s{i}": [f"s{i - 1}"] if i else [f"s{n - 1}"] for i in range(n)}
    (cycle,) = find_cycles(parents)
    assert len(cycle) == n + 1 and cycle[0] == cycle[-1]


def test_ancestry_follows_transitive_dependencies_only() -> None:
    dag = Dag.build({"a": [], "b": ["a"], "c": ["a"], "d": ["b"]})
    assert dag.is_ancestor("a", "d")
    assert not dag.is_ancestor("c", "d")  # a sibling branch may run later
    assert not dag.is_ancestor("d", "a")
    assert not dag.is_ancestor("a", "a")


def test_longest_path_by_weight() -> None:
    dag = Dag.build({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    weights = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0}
    assert dag.longest_path(weights.__getitem__) == (7.0, ["a", "b", "d"])
    assert dag.children() == {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}
