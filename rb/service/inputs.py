"""What a run is given from outside: secrets, facts and the environment it reads."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rb import source
from rb.errors import UsageError

SECRET_PREFIX = "RB_SECRET_"


def secrets_from(env: Mapping[str, str], secrets_file: str | None) -> dict[str, str]:
    """Secrets from RB_SECRET_<NAME> variables, then a file (the file wins)."""
    found = {k[len(SECRET_PREFIX) :]: v for k, v in env.items() if k.startswith(SECRET_PREFIX)}
    if secrets_file:
        found.update(_read_secrets_file(Path(secrets_file)))
    from rb.engine.secrets import MIN_SECRET_LENGTH, short_secrets

    short = short_secrets(found)
    if short:
        raise UsageError(
            f"secret {', '.join(short)} is shorter than {MIN_SECRET_LENGTH} characters: rb "
            "masks secrets by their value, and so short a value would mask ordinary text "
            "everywhere; give the real secret"
        )
    return found


def _read_secrets_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read secrets file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        at = source.undecodable_line(exc)
        raise UsageError(
            f"{path}:{at}: the secrets file is not UTF-8 text; save it as UTF-8"
        ) from None
    if path.suffix in (".json", ".yaml", ".yml"):
        try:
            data = json.loads(text) if path.suffix == ".json" else source.load_data(text, str(path))
        except (ValueError, RecursionError):
            # The parser's own message could quote a secret: say only where to look.
            raise UsageError(f"secrets file {path} is not valid {path.suffix[1:]}") from None
        if not isinstance(data, dict):
            raise UsageError(f"secrets file {path} must be a mapping of NAME: value")
        return {str(k): str(v) for k, v in data.items()}
    out = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise UsageError(f"{path}:{number}: expected NAME=value")  # value never echoed
        out[name.strip()] = value.strip()
    return out


def parse_facts(pairs: list[str]) -> dict[str, Any]:
    """`--fact name=value`; values read as YAML scalars (true, 3, text)."""
    from rb.engine.params import parse_assignments

    facts: dict[str, Any] = {}
    for name, text in parse_assignments(pairs, "--fact").items():
        try:
            facts[name] = source.load_data(text, f"--fact {name}") if text else ""
        except ValueError as exc:
            raise UsageError(f"{exc}; quote the value to pass it as text") from None
    return facts


def environment() -> dict[str, str]:
    """The environment a live run reads, without rb's own secret variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SECRET_PREFIX)}
