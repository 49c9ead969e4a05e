"""What people see: the live view, plain progress lines, the summary."""

from __future__ import annotations

import io

from rb.cli.render import LiveView, PlainProgress
from rb.engine.events import (
    AttemptFailed,
    RetryScheduled,
    RunFinished,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)

EVENTS = [
    StepStarted("fetch", 1),
    AttemptFailed("fetch", 1, "HTTP 503 from GET http://x/"),
    RetryScheduled("fetch", 2, 1.5),
    StepStarted("fetch", 2),
    StepSucceeded("fetch", 2.25, 2, "HTTP 200, 3 items", {}, {}),
    StepFailed("push", 0.5, 1, "cannot connect [refused]", "log_and_continue"),
    StepSkipped("shot", "dependency 'push' was skipped"),
    RunFinished("id", "success", 3.0),
]


def test_plain_progress_prints_one_line_per_event() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    for event in EVENTS:
        progress(event)
    assert out.getvalue().splitlines() == [
        "start   fetch",
        "error   fetch: HTTP 503 from GET http://x/",
        "retry   fetch: attempt 2 in 1.50s",
        "start   fetch (attempt 2)",
        "ok      fetch (HTTP 200, 3 items) 2.25s",
        "failed  push: cannot connect [refused] (on_failure: log_and_continue)",
        "skipped shot: dependency 'push' was skipped",
        "finished: success in 3.00s",
    ]


def test_live_view_shows_each_step_state() -> None:
    out = io.StringIO()
    view = LiveView(["fetch", "push", "shot", "later"], out)
    with view:
        for event in EVENTS:
            view(event)
    final = out.getvalue().split("step")[-1]  # the last frame drawn
    assert "passed" in final and "2.25s" in final and "HTTP 200, 3 items" in final
    assert "failed" in final and "cannot connect [refused]" in final  # not eaten as markup
    assert "skipped" in final and "waiting" in final
