"""`rb worker`: executions from the procrastinate queue, and scheduled runbooks.

See docs/scaling.md.
"""
