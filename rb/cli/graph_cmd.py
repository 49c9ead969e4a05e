"""`rb graph RUNBOOK`: the runbook's DAG as Mermaid, DOT or JSON."""

from __future__ import annotations

import sys
from pathlib import Path

from rb.errors import UsageError


def graph(runbook_ref: str, *, output_format: str = "mermaid", output: str | None = None) -> int:
    """Draw the runbook's steps, dependencies and critical path; 0, or an RbError.

    The runbook must pass `rb validate` (else RunbookError: exit 2). The text
    goes to stdout, or to the file `output`.
    """
    from rb.cli.graph_output import FORMATS, RENDERERS
    from rb.graph import overview
    from rb.service.runbooks import load_valid_runbook

    if output_format not in FORMATS:
        raise UsageError(f"unknown format {output_format!r}; use one of {', '.join(FORMATS)}")
    runbook = load_valid_runbook(runbook_ref)
    text = RENDERERS[output_format](runbook.id, overview(runbook.graph))
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    return 0
