"""The writer process: what the recording sees when it goes away, and its frames."""

from __future__ import annotations

import pytest

from rb.engine.events import Event, StepSucceeded
from rb.service.request import Recording, RunRequest
from rb.service.runner import execute, live_world
from rb.store import writer_child, writer_process
from rb.store.database import StoreError, open_store
from rb.store.queries import load_run, reap_interrupted
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

from .engine_helpers import runbook
from .servers import TestServer

FIRST = """\
id: chain
name: Chain
version: "1"
steps:
  - {id: one, type: wait, inputs: {seconds: 0}}
"""
CHAIN = (
    FIRST
    + """\
  - {id: two, type: wait, depends_on: [one], inputs: {seconds: 0}}
  - {id: three, type: wait, depends_on: [two], inputs: {seconds: 0}}
"""
)
# Step `two` waits on the test server's /slow, which answers when released.
HELD = (
    FIRST
    + """\
  - {id: two, type: data_fetch, depends_on: [one], timeout_seconds: 120,
     inputs: {source_url: "SLOW_URL"}}
"""
)


def test_a_writer_process_that_dies_fails_the_recording_clearly(
    store_url: str, http_server: TestServer
) -> None:
    store = open_store(store_url)
    killed: list[int] = []

    def kill_the_writer(event: Event) -> None:
        # Told once step one is committed, while step two is held: the
        # writer goes away, then step two may finish.
        if isinstance(event, StepSucceeded) and not killed:
            process = writer_child._CHILDREN[store.url].process
            process.kill()
            killed.append(process.wait())
            http_server.state.release.set()

    with pytest.raises(StoreError) as failed:
        execute(
            RunRequest(
                runbook(HELD.replace("SLOW_URL", http_server.url("/slow"))),
                live_world(secrets={}, facts={}),
                params={},
                listeners=[kill_the_writer],
                recording=Recording(db=store_url),
            )
        )
    assert killed, "the writer was never killed"
    assert f"recording failed (the writer for {store.shown} stopped)" in str(failed.value)
    # Step two never runs unrecorded after the failure is known (a live run
    # waits for each commit): it is stopped before step two, or, when it had
    # already started, the run ends and says it was not recorded.
    assert "stopped before step 'two'" in str(
        failed.value
    ) or "the run itself ended success" in str(failed.value)

    # The next run gets a new writer.
    reap_interrupted(store)
    ran = execute(
        RunRequest(
            runbook(CHAIN),
            FixtureWorld(from_data({})),
            params={},
            recording=Recording(db=store_url),
        )
    )
    assert ran.result.status == "success" and ran.execution_id is not None
    steps = load_run(store, ran.execution_id).steps
    assert [s.step_id for s in steps] == ["one", "two", "three"]


@pytest.mark.parametrize(
    "value", [("rows", 7, "step", [["a", 1, 2.5, None, True]]), ("sync", 1, 2), ("ready",)]
)
def test_frames_carry_values_unchanged(value: tuple[object, ...]) -> None:
    import os

    read, write = os.pipe()
    os.write(write, writer_process.frame(value))
    os.close(write)
    assert writer_process.read_frame(read) == value
    assert writer_process.read_frame(read) is None  # the end of the input
    os.close(read)
