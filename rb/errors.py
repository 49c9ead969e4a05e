"""The rb error hierarchy.

    RbError                      anything the user can act on; exit code 1 or 2
    ├── UsageError               bad command-line usage or unreadable input (exit 2)
    ├── RunbookError             a runbook file that cannot be used (carries diagnostics)
    ├── PluginError              a step-type plugin that cannot be registered
    └── StepError                one attempt of a step failed (retryable or not)

Errors in the user's runbook are *values* (`rb.diagnostics.Diagnostic`) with a
file position; these exceptions are for conditions that stop a command. Any
other exception is a bug in rb and is reported as one (exit 3).
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class RbError(Exception):
    """Base class for errors the user can act on."""

    exit_code = EXIT_FAILED


class UsageError(RbError):
    """Bad command-line usage, or input rb cannot read at all."""

    exit_code = EXIT_USAGE


class RunbookError(RbError):
    """A runbook that has errors; `diagnostics` says where."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, diagnostics: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


class PluginError(RbError):
    """A step-type plugin that cannot be registered; names the plugin.

    Exit code 2, like other input rb cannot use: no check ran, none failed.
    """

    exit_code = EXIT_USAGE

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"step type plugin {plugin!r}: {message}")
        self.plugin = plugin


# What kind of failure a step had, so reports and acceptance packs can say
# "the API answered 500" or "it timed out" without parsing messages.
# docs/acceptance.md describes each; a test keeps the two in step.
ERROR_KINDS = (
    "timeout",  # an attempt, a request or a wait ran out of time
    "connection",  # the other side could not be reached or hung up
    "http_status",  # an HTTP answer with a status the step does not accept
    "graphql",  # a GraphQL answer carrying errors
    "exit_code",  # a command exited with a code the step does not accept
    "schema_validation",  # data broke a JSON Schema (items set aside, or too many)
    "output",  # an output could not be read from the result (often malformed data)
    "invalid_input",  # inputs could not be evaluated or do not fit the step type
    "expression",  # `when` or `for_each` could not be evaluated
    "screenshot",  # a screenshot differs from its baseline, or has none
    "unmatched",  # the fixture holds no answer for a request
    "rejected",  # an approval step was rejected (or timed out with on_timeout: reject)
    "error",  # anything else (a database error, an unreadable file)
)


class StepError(RbError):
    """A step attempt that failed. `retryable` says whether trying again may help.

    Raised by step implementations and the engine; the engine records it on
    the step (with the step id and `kind`, one of ERROR_KINDS) and applies
    the step's retry and on_failure. `result` is the result document of an
    attempt that ran to the end and then failed its check (a screenshot over
    its tolerance), kept on the step so reports can show what was measured.
    """

    def __init__(
        self, message: str, *, retryable: bool = True, kind: str = "error", result: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.kind = kind
        self.result = result
