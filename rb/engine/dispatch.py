"""Running a runbook's step graph: each step starts the moment its dependencies are done.

Steps run as tasks; a step that ends settles itself and starts the children
it made ready (O(1) per step, so a 10,000-step fan-out costs the same per
step as a chain); the only child it made ready runs on in the same task.
`max_parallel` bounds how many run at once. on_failure decides what a failure
does: `abort` cancels running steps and skips the rest, `log_and_continue`
records it and lets dependents run, `rollback` cancels like abort and then runs
the completed steps' rollback compensations, newest first.

A run can also stop short (rb.engine.stops): a step that parks it or a
pause lets running steps finish and starts no new ones; a cancel or the
runbook's `timeout_seconds` cancels running steps. Restored steps, finished
in an earlier start of the execution, are taken from its recording, not run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from rb.engine.context import RestoredStep, RunOptions
from rb.engine.events import RunControlled, StepRestored, StepRolledBack
from rb.engine.step_runner import RunState, execute_step, run_attempts, skip
from rb.engine.stops import CANCEL, PAUSE, SIGNALS, GraphEnd, watchers
from rb.engine.waiting import WaitingFor
from rb.errors import StepError
from rb.model import Runbook, Step


async def run_graph(
    runbook: Runbook,
    state: RunState,
    max_parallel: int | None,
    options: RunOptions,
    restored: Mapping[str, RestoredStep],
) -> tuple[Step | None, GraphEnd]:
    """Run every step; returns the step whose failure stopped the run (if any)
    and how the graph ended (parked, cancelled, timed out, or to its end)."""
    steps = {s.id: s for s in runbook.steps}
    # Plain dicts from the runbook's graph: the loop below reads them per step,
    # and networkx's views cost more than a dict lookup on that path.
    graph = runbook.graph
    parents = {sid: tuple(graph.pred[sid]) for sid in graph}
    children = {sid: tuple(graph.succ[sid]) for sid in graph}
    waiting = {sid: len(deps) for sid, deps in parents.items()}
    limit = asyncio.Semaphore(max_parallel) if max_parallel else None
    # The scheduler's own queue carries control signals, restored steps and
    # the word that the graph is done; a step that runs does its own
    # bookkeeping as it ends (`done`), which saves the queue, a done callback
    # and two loop iterations per step, and a step that makes just one other
    # ready runs it on in its own task, which saves creating one.
    wake: asyncio.Queue[str | BaseException] = asyncio.Queue()
    running: dict[str, asyncio.Task[None]] = {}
    completed: list[str] = []  # succeeded steps, in the order they finished
    end = GraphEnd()
    restoring = [0]  # restored steps put on the queue and not yet settled
    stopped: list[Step] = []  # the step whose failure stops the run
    closed = [False]  # the graph's end was decided: later endings change nothing

    async def run(step: Step | None) -> None:
        while step is not None:
            try:
                if limit is None:
                    await execute_step(step, state)
                else:
                    async with limit:
                        await execute_step(step, state)
                step = done(step.id)
            except Exception as exc:  # a bug in rb: the scheduler raises it, not silently
                wake.put_nowait(exc)
                return
            if step is not None:
                # The one step this made ready runs on in this task, from
                # where a new task would first run: after all that is ready.
                await asyncio.sleep(0)

    def launch(ready: list[Step]) -> None:
        for step in ready:
            running[step.id] = asyncio.create_task(run(step), name=f"rb-step-{step.id}")

    def start(sid: str, ready: list[Step]) -> None:
        if end.parking:
            return  # ready, but the run is parking: it starts on resume
        restored_step = restored.get(sid)
        if restored_step is None and options.cancelled is not None:
            return  # a parked run being cancelled: nothing new starts
        if restored_step is not None:
            # Through the queue: a long restored chain is a loop, not a recursion.
            _restore(restored_step, state)
            restoring[0] += 1
            wake.put_nowait(sid)
            return
        ready.append(steps[sid])

    def settle(sid: str, ready: list[Step]) -> None:
        """`sid` is done: the children waiting on it are skipped or `ready` to run."""
        for child in children[sid]:
            waiting[child] -= 1
            if waiting[child]:
                continue
            skipped = [p for p in parents[child] if state.outcomes[p].status == "skipped"]
            if skipped:
                skip(child, state, f"dependency {skipped[0]!r} was skipped")
                settle(child, ready)
            else:
                start(child, ready)

    def done(sid: str) -> Step | None:
        """A step that ran has ended: decide what follows from its outcome.

        Returns the step to run next in the same task: the only one this made
        ready (a chain's next link, a fan-in) needs no task of its own.
        """
        if closed[0]:
            return None  # the run is stopping; the step counts as cancelled
        del running[sid]
        outcome = state.outcomes[sid]
        ready: list[Step] = []
        if outcome.status == "waiting":
            assert outcome.waiting_for is not None
            end.status = "waiting"
            end.waiting_for.append(outcome.waiting_for)
        elif outcome.status == "failed" and steps[sid].on_failure != "log_and_continue":
            stopped.append(steps[sid])
            closed[0] = True
            wake.put_nowait(_GRAPH_DONE)
            return None
        else:
            if outcome.status == "succeeded":
                completed.append(sid)
            settle(sid, ready)
        follow = None
        if len(ready) == 1:
            follow = ready.pop()
            task = asyncio.current_task()
            assert task is not None
            running[follow.id] = task
        launch(ready)
        if not running and not restoring[0]:
            wake.put_nowait(_GRAPH_DONE)
        return follow

    roots: list[Step] = []
    for sid in graph:  # file order
        if waiting[sid] == 0:
            start(sid, roots)
    launch(roots)
    with watchers(wake, state.world, options.control, runbook.timeout_seconds):
        while running or restoring[0]:
            item = await wake.get()
            if isinstance(item, BaseException):
                raise item
            if item == _GRAPH_DONE:
                if closed[0]:
                    break
                continue  # stale: a restored step started more since
            if item in SIGNALS:
                if _signal(item, runbook, state, end):
                    closed[0] = True
                    break
                continue
            restoring[0] -= 1  # a restored step
            if state.outcomes[item].status == "succeeded":
                completed.append(item)
            ready: list[Step] = []
            settle(item, ready)
            launch(ready)
    closed[0] = True
    stop = stopped[0] if stopped else None
    if options.cancelled is not None and end.status is None:
        end.status, end.error = "cancelled", options.cancelled
        state.bus.publish(RunControlled("cancel", end.error))
    if end.status in ("cancelled", "timed_out"):
        await _cancel(running, state, end.error)
        _skip_pending(state, f"not run: {end.error}")
        if end.status == "cancelled" and runbook.on_cancel == "rollback":
            await _roll_back(completed, steps, state)
        return None, end
    if stop is None:
        if end.parking:
            return None, end
        stuck = [sid for sid, n in waiting.items() if n]
        if stuck:  # only a runbook that skipped validation gets here
            raise ValueError(f"steps {stuck} never became ready: the graph has a cycle")
        return None, end
    why = f"step {stop.id!r} failed (on_failure: {stop.on_failure})"
    await _cancel(running, state, why)
    _skip_pending(state, f"not run: {why}")
    if stop.on_failure == "rollback":
        await _roll_back(completed, steps, state)
    return stop, end


# Put on the scheduler's queue when no step runs any more; like the signals,
# it cannot be a step id (those cannot start with NUL).
_GRAPH_DONE = "\0done"


def _signal(signal: str, runbook: Runbook, state: RunState, end: GraphEnd) -> bool:
    """Act on a control signal; True when the run must stop at once."""
    if signal == PAUSE:
        if not end.parking:
            end.status = "waiting"
            end.waiting_for.append(WaitingFor(kind="pause"))
            state.bus.publish(RunControlled("pause", "no new steps start"))
        return False
    if signal == CANCEL:
        end.status, end.error = "cancelled", "the run was cancelled"
    else:
        end.status = "timed_out"
        end.error = f"the run exceeded its timeout_seconds ({runbook.timeout_seconds:g}s)"
    end.waiting_for.clear()
    state.bus.publish(RunControlled(signal.lstrip("\0"), end.error))
    return True


def _restore(done: RestoredStep, state: RunState) -> None:
    """Take a finished step from the recording: its outputs, nothing run."""
    outcome = state.outcomes[done.step_id]
    outcome.status = done.status
    outcome.outputs = dict(done.outputs)
    outcome.summary = done.summary
    outcome.attempts = done.attempts
    outcome.inputs = done.inputs
    outcome.reason = done.reason
    outcome.restored = True
    now = state.world.monotonic()
    outcome.started = outcome.finished = now
    state.bus.publish(
        StepRestored(done.step_id, done.status, done.summary, state.masker.data(done.outputs))
    )


def _skip_pending(state: RunState, reason: str) -> None:
    for sid, outcome in state.outcomes.items():
        if outcome.status == "pending":
            skip(sid, state, reason)


async def _cancel(running: dict[str, asyncio.Task[None]], state: RunState, why: str) -> None:
    # Cancelling a task ends its shell command's whole process group
    # (rb.world.processes.Command.end) and abandons its HTTP call.
    for task in running.values():
        task.cancel()
    await asyncio.gather(*running.values(), return_exceptions=True)
    for sid in running:
        state.outcomes[sid].finished = state.world.monotonic()
        skip(sid, state, f"cancelled: {why}")


async def _roll_back(completed: list[str], steps: Mapping[str, Step], state: RunState) -> None:
    """Run the completed steps' rollback compensations, newest first."""
    for sid in reversed(completed):
        rollback = steps[sid].rollback
        if rollback is None:
            continue
        compensation = Step(
            id=sid,
            type=rollback.type,
            index=steps[sid].index,
            inputs=rollback.inputs,
            timeout_seconds=rollback.timeout_seconds,
            retry=rollback.retry,
        )
        try:
            await run_attempts(compensation, state, {}, event_id=f"{sid}.rollback")
        except StepError as exc:
            state.bus.publish(StepRolledBack(sid, False, state.masker.text(exc.message)))
            continue
        state.outcomes[sid].rolled_back = True
        state.bus.publish(StepRolledBack(sid, True))
