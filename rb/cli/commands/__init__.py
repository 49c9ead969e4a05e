"""One module per command: parse nothing, call the service, render, return the exit code.

Each entry function (e.g. `run.run(...) -> int`) is what `rb.cli.app`
calls; the work is done below (rb.service, rb.replay, rb.acceptance...),
which returns values, and only these modules print them.
"""
