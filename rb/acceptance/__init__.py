"""Acceptance packs: scenarios each runbook must pass (docs/acceptance.md).

pack.py          acceptance.yml -> Pack (checked, with positions)
comparison.py    expected values: plain, or "<= 300"
observed.py      what a run showed: KPIs, errors, step states
expectations.py  references checked before running; verdicts after
screenshots.py   a screenshot against a named baseline
runner.py        prepare every pack, then run each scenario
render.py        the summary table, JSON and JUnit XML
"""
