"""The environment a step's subprocess gets: a minimal one, never rb's settings.

A child inherits nothing rb was started with except what any program needs
to run (where commands are, the locale, the home and temp folders, proxies and
CA certificates); a step adds what it declares in `env:`. So `RB_API_TOKEN`,
database URLs and `RB_SECRET_*` variables never reach a shell step.
"""

from __future__ import annotations

from collections.abc import Mapping

PASSED = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "TMPDIR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The variables of `env` a step's subprocess inherits (before its own `env:`)."""
    return {k: v for k, v in env.items() if k in PASSED or k.startswith("LC_")}
