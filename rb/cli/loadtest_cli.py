"""Options of `rb loadtest generate` and `rb loadtest run` (k6 load tests of rb serve).

Only argparse here: the work (jinja2, subprocesses) is imported when a
subcommand runs, so `rb --help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register `rb loadtest` and its subcommands on the `rb` subparsers."""
    p = sub.add_parser(
        "loadtest",
        help="generate and run k6 load tests of rb serve",
        description="Generate k6 scripts that load rb serve's execution API with a "
        "runbook's acceptance scenario, and run them with the real k6 binary.",
    )
    actions = p.add_subparsers(dest="loadtest_command", metavar="ACTION", required=True)

    g = actions.add_parser(
        "generate",
        help="write a k6 script for a runbook",
        description="Render a k6 script from rb's template: POST /api/runbooks/execute with "
        "an acceptance scenario's inputs and fixture, under stages of virtual users, with "
        "thresholds. Default stages: 1m→10, 3m→50, 1m→0; thresholds: p95 under 2000 ms, "
        "under 5 %% errors. Written to loadtests/<runbook-id>.js.",
    )
    g.add_argument(
        "runbooks",
        nargs="+",
        metavar="RUNBOOK",
        help="runbook files or ids under runbooks/ (one script each)",
    )
    g.add_argument(
        "--scenario",
        metavar="NAME",
        help="acceptance scenario to send (default: the first that expects success)",
    )
    g.add_argument(
        "--stages",
        metavar="D:N,...",
        help="ramp: DURATION:TARGET pairs, e.g. 30s:10,1m:50,30s:0",
    )
    g.add_argument(
        "--live",
        action="store_true",
        help="send the parameter defaults and no fixture, so rb serve runs the runbook "
        "live against the real services (needed for a runbook without an acceptance pack)",
    )
    g.add_argument("--vus", type=_positive_int, metavar="N", help="constant load: N users")
    g.add_argument(
        "--duration", metavar="D", help="constant load for D, e.g. 60s (default 30s with --vus)"
    )
    g.add_argument(
        "--iterations",
        type=_positive_int,
        metavar="N",
        help="constant load: N requests in all, shared by the users",
    )
    g.add_argument(
        "--p95-ms",
        type=float,
        default=2000.0,
        metavar="MS",
        help="threshold: 95th percentile latency under MS (default 2000)",
    )
    g.add_argument(
        "--p99-ms", type=float, metavar="MS", help="threshold: 99th percentile under MS (none)"
    )
    g.add_argument(
        "--max-error-rate",
        type=float,
        default=0.05,
        metavar="SHARE",
        help="threshold: HTTP errors and failed executions each under SHARE (default 0.05)",
    )
    g.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the script here ('-' for stdout; default loadtests/<runbook-id>.js)",
    )
    g.add_argument("--format", choices=("text", "json"), default="text")

    r = actions.add_parser(
        "run",
        help="run a k6 script and report latency, rates and thresholds",
        description="Run SCRIPT with the real k6 binary (always --no-usage-report) and "
        "print p50/p95/p99 latency, request rate and error rates against the script's "
        "thresholds. Exit 0 when all hold, 1 when one is crossed, 2 for bad usage.",
    )
    r.add_argument("script", metavar="SCRIPT", help="a k6 script, e.g. loadtests/<id>.js")
    r.add_argument(
        "--url",
        metavar="URL",
        help="base URL of rb serve, passed as RB_URL (default: $RB_URL, else the "
        "script's http://127.0.0.1:8080)",
    )
    r.add_argument("--summary", metavar="FILE", help="keep k6's JSON summary export here")
    r.add_argument("--format", choices=("text", "json"), default="text")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def run(args: argparse.Namespace) -> int:
    """Run `rb loadtest generate` or `rb loadtest run`."""
    from rb.cli.commands import loadtest

    if args.loadtest_command == "generate":
        options = loadtest.GenerateOptions(
            scenario=args.scenario,
            stages=args.stages,
            vus=args.vus,
            duration=args.duration,
            iterations=args.iterations,
            p95_ms=args.p95_ms,
            p99_ms=args.p99_ms,
            max_error_rate=args.max_error_rate,
            live=args.live,
        )
        return loadtest.generate(
            args.runbooks, options, output=args.output, output_format=args.format
        )
    return loadtest.run(args.script, url=args.url, summary=args.summary, output_format=args.format)
