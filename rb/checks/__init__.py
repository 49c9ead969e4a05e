"""Static checks on a loaded runbook, each module one family of problems."""
