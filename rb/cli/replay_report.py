"""`rb replay`'s report as text: a line per step, KPI and status, then the verdict."""

from __future__ import annotations

from rb.replay import ReplayReport, RunCheck


def report_lines(report: ReplayReport) -> list[str]:
    """The seed's replay report: a line per step, KPI and status, then the verdict."""
    lines = [_check_line(c) for c in report.checks if c.kind == "Assumption"]
    for s in report.steps:
        if s.ok:
            said = f"{s.summary}, " if s.summary else f"{s.replayed}, "
            lines.append(f"✓ Step: {s.step_id} ({said}matches original)")
        elif s.original != s.replayed:
            was, now = s.original, s.replayed
            if s.cause:
                if s.replayed in ("failed", "skipped"):
                    now = f"{now}: {s.cause}"
                else:
                    was = f"{was}: {s.cause}"
            lines.append(f"✗ Step: {s.step_id} (was {was}, now {now})")
        else:
            lines.append(f"✗ Step: {s.step_id} (outputs differ)")
        lines.extend(f"    {d}" for d in s.differences)
    lines.extend(_check_line(c) for c in report.checks if c.kind != "Assumption")
    lines.extend(f"✗ Request: {r}" for r in report.requests)
    lines.extend(f"- Not compared: {n}" for n in report.not_compared)
    lines.append("REPLAY VERIFIED" if report.verified else "REPLAY DIVERGED")
    return lines


def _check_line(c: RunCheck) -> str:
    if c.kind == "Status":
        if c.ok:
            return f"✓ Status: {c.replayed} (matches original)"
        return f"✗ Status: was {c.original}, now {c.shown or c.replayed}"
    if c.ok:
        return f"✓ {c.kind}: {c.name} ({c.replayed}, matches original)"
    return f"✗ {c.kind}: {c.name} (was {c.original}, now {c.shown or c.replayed})"
