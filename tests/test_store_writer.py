"""The writer process: what the recording sees when it goes away, and its frames."""

from __future__ import annotations

import pytest

from rb.commands.execution import run_recorded
from rb.engine.events import Event, StepSucceeded
from rb.store import writer, writer_process
from rb.store.database import StoreError, open_store
from rb.store.queries import load_run, reap_interrupted
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

from .engine_helpers import runbook

CHAIN = """\
id: chain
name: Chain
version: "1"
steps:
  - {id: one, type: wait, inputs: {seconds: 0}}
  - {id: two, type: wait, depends_on: [one], inputs: {seconds: 0}}
  - {id: three, type: wait, depends_on: [two], inputs: {seconds: 0}}
"""


def test_a_writer_process_that_dies_fails_the_recording_clearly(store_url: str) -> None:
    store = open_store(store_url)
    killed: list[int] = []

    def kill_the_writer(event: Event) -> None:
        # Told only once the step is committed; then the writer goes away.
        if isinstance(event, StepSucceeded) and not killed:
            process = writer._CHILDREN[store.url].process
            process.kill()
            killed.append(process.wait())

    with pytest.raises(StoreError) as failed:
        run_recorded(
            runbook(CHAIN),
            FixtureWorld(from_data({})),
            params={},
            listeners=[kill_the_writer],
            db=store_url,
        )
    assert killed, "the writer was never killed"
    assert f"the writer for {store.shown} stopped" in str(failed.value)
    assert "the run itself ended success" in str(failed.value)

    # What was acknowledged is kept; the next run gets a new writer.
    reap_interrupted(store)
    result, run_id = run_recorded(
        runbook(CHAIN), FixtureWorld(from_data({})), params={}, db=store_url
    )
    assert result.status == "success" and run_id is not None
    assert [s["step_id"] for s in load_run(store, run_id).steps] == ["one", "two", "three"]


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
