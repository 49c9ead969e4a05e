"""`rb worker`: executions from the procrastinate queue (docs/scaling.md)."""
