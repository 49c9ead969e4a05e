"""The run service: what a request asks for is what the run does and reports."""

from __future__ import annotations

from rb.engine.events import Event, RunStarted
from rb.service.request import RunRequest
from rb.service.runner import execute, fixture_request
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

from .engine_helpers import runbook

WAIT = """\
id: waits
name: Waits
version: "1"
steps:
  - {id: pause, type: wait, inputs: {seconds: 2}}
"""


def test_the_run_is_labelled_as_the_request_says_not_as_the_world_is() -> None:
    # A replay runs in a fixture world; the engine takes the label from the request.
    heard: list[Event] = []
    request = RunRequest(
        runbook(WAIT),
        FixtureWorld(from_data({})),
        params={},
        recording=None,
        kind="replay",
        listeners=[heard.append],
    )
    ran = execute(request)
    assert ran.result.status == "success" and ran.execution_id is None
    (started,) = [e for e in heard if isinstance(e, RunStarted)]
    assert started.world == "replay"


def test_without_a_kind_the_run_is_labelled_by_its_world() -> None:
    heard: list[Event] = []
    request = fixture_request(
        runbook(WAIT), from_data({}), recording=None, listeners=[heard.append]
    )
    assert (request.world_kind, dict(request.secrets)) == ("fixture", {})
    execute(request)
    assert [e.world for e in heard if isinstance(e, RunStarted)] == ["fixture"]


def test_a_fixture_request_checks_the_fixtures_params_over_the_given_ones() -> None:
    book = runbook(WAIT + "parameters:\n  region: {type: string, default: eu}\n")
    request = fixture_request(
        book, from_data({"params": {"region": "us"}}), params={"region": "ap"}, recording=None
    )
    assert request.params == {"region": "ap"}
