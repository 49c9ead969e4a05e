"""`rb graph`: Mermaid, DOT and JSON of a runbook's DAG with its critical path."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from rb.cli.errors import guarded
from rb.cli.graph_cmd import graph
from rb.cli.graph_output import dot, mermaid
from rb.graph import build, overview
from rb.model import Step

from .conftest import DATA, ROOT

ENRICHMENT = str(ROOT / "runbooks" / "entity-enrichment.yaml")
CRITICAL = ["ingest", "validate", "enrich", "screenshot_ui"]

QUOTED = """\
id: quoted
name: Quoted
version: "1"
steps:
  - {id: a, type: wait, timeout_seconds: 5, inputs: {seconds: 1}}
  - {id: b, type: wait, depends_on: [a], inputs: {seconds: 1}, on_failure: log_and_continue}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str, **kwargs: str) -> str:
    assert graph(*args, **kwargs) == 0  # type: ignore[arg-type]
    return capsys.readouterr().out


def test_json_has_every_step_edge_and_the_critical_path(capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(run(capsys, ENRICHMENT, output_format="json"))
    assert doc["runbook"] == "rb-001-entity-enrichment"
    steps = {s["id"]: s for s in doc["steps"]}
    assert list(steps) == ["ingest", "validate", "enrich", "report", "screenshot_ui"]
    assert steps["enrich"]["type"] == "api_call"
    assert steps["screenshot_ui"]["on_failure"] == "log_and_continue"
    # enrich: 4 attempts of 120 s plus delays 5, 15 and 45 s
    assert steps["enrich"]["budget_seconds"] == 4 * 120 + 5 + 15 + 45
    assert [s["generation"] for s in steps.values()] == [0, 1, 2, 3, 3]
    assert doc["critical_path"]["steps"] == CRITICAL
    assert doc["critical_path"]["budget_seconds"] == sum(
        steps[sid]["budget_seconds"] for sid in CRITICAL
    )
    critical_edges = [(e["from"], e["to"]) for e in doc["edges"] if e["critical"]]
    assert critical_edges == list(itertools.pairwise(CRITICAL))
    assert {(e["from"], e["to"]) for e in doc["edges"]} == {
        ("ingest", "validate"),
        ("validate", "enrich"),
        ("enrich", "report"),
        ("enrich", "screenshot_ui"),
    }


def test_mermaid_is_a_flowchart_github_can_render(capsys: pytest.CaptureFixture[str]) -> None:
    lines = run(capsys, ENRICHMENT).splitlines()
    assert lines[0] == "flowchart TD"
    nodes = {}
    for line in lines[1:]:
        m = re.fullmatch(r'  (s\d+)\["([^"]*)"\]', line)
        if m:
            nodes[m[1]] = m[2].split("<br/>")
    names = {parts[0]: node for node, parts in nodes.items()}
    assert nodes[names["enrich"]][:3] == ["enrich", "api_call", "on_failure: abort"]
    edges = [re.fullmatch(r"  (s\d+) --> (s\d+)", line) for line in lines]
    pairs = [(m[1], m[2]) for m in edges if m]
    assert len(pairs) == 4 and all(a in nodes and b in nodes for a, b in pairs)
    assert "  classDef critical stroke:#d1242f,stroke-width:3px" in lines
    assert f"  class {','.join(names[s] for s in CRITICAL)} critical" in lines
    # every line is a known statement: nothing Mermaid would reject slips in
    statements = [
        r"flowchart TD",
        r"  %% .*",
        r'  s\d+\["[^"]*"\]',
        r"  s\d+ --> s\d+",
        r"  classDef critical .*",
        r"  class [s\d,]+ critical",
        r"  linkStyle [\d,]+ .*",
    ]
    known = "|".join(statements)
    assert all(re.fullmatch(known, line) for line in lines)


def test_dot_declares_every_node_it_links(capsys: pytest.CaptureFixture[str]) -> None:
    text = run(capsys, ENRICHMENT, output_format="dot")
    assert text.startswith('digraph "rb-001-entity-enrichment" {\n') and text.endswith("}\n")
    declared = dict(re.findall(r'^  (s\d+) \[label="((?:[^"\\]|\\.)*)"', text, re.M))
    linked = re.findall(r"^  (s\d+) -> (s\d+)( \[[^]]*\])?;$", text, re.M)
    assert len(declared) == 5 and len(linked) == 4
    assert all(a in declared and b in declared for a, b, _ in linked)
    assert sum(1 for *_, style in linked if "penwidth=3" in style) == 3
    by_id = {label.split("\\n")[0]: node for node, label in declared.items()}
    assert re.search(rf"^  {by_id['report']} \[label=\"[^\n]*\"\];$", text, re.M)  # not critical


def test_labels_are_escaped_for_each_syntax() -> None:
    # Ids are plain by the format; a plugin's type name is not, so labels escape.
    steps = [Step(id="a", type='say "hi" \\ bye', index=0, timeout_seconds=5)]
    view = overview(build(steps))
    assert 's0 [label="a\\nsay \\"hi\\" \\\\ bye' in dot("r", view)
    assert 's0["a<br/>say #quot;hi#quot; \\ bye<br/>' in mermaid("r", view)


def test_output_goes_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "graph.mmd"
    assert run(capsys, ENRICHMENT, output=str(out)) == ""
    assert out.read_text(encoding="utf-8").startswith("flowchart TD\n")


def test_an_invalid_runbook_exits_2_with_its_errors(capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(DATA / "invalid" / "rb033_cycle.yaml")
    assert guarded(lambda: graph(bad)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "rb033_cycle.yaml:16:18: error RB033 dependency cycle" in captured.err


def test_an_unknown_format_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert guarded(lambda: graph(ENRICHMENT, output_format="svg")) == 2
    assert "unknown format 'svg'; use one of mermaid, dot, json" in capsys.readouterr().err


def test_a_runbook_without_timeouts_has_no_critical_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(QUOTED.replace(", timeout_seconds: 5", ""), encoding="utf-8")
    text = run(capsys, str(path))
    assert "no step has a timeout: no critical path" in text
    assert "classDef" not in text


def test_the_docs_show_what_rb_graph_prints(capsys: pytest.CaptureFixture[str]) -> None:
    page = (ROOT / "docs" / "graph.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"```mermaid\n(.*?)```", page, re.S)
    assert shown == run(capsys, ENRICHMENT)


def test_the_command_line_writes_the_chosen_format_to_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rb.cli.app import main

    target = tmp_path / "graph.json"
    assert main(["graph", ENRICHMENT, "--format", "json", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["runbook"] == "rb-001-entity-enrichment"
    assert main(["graph", ENRICHMENT, "--format", "svg"]) == 2
    assert "svg" in capsys.readouterr().err
