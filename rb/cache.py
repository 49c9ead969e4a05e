"""rb's on-disk cache of derived data (compiled schema validators).

Lives in $RB_CACHE_DIR, else $XDG_CACHE_HOME/rb, else ~/.cache/rb. Entries are
keyed by a hash of everything they derive from plus the Python version, so a
stale entry is never used; a cache that cannot be written is simply skipped.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("RB_CACHE_DIR"):
        return Path(os.environ["RB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rb"


def cache_file(kind: str, key: str, suffix: str) -> Path | None:
    """Where the entry for `key` lives, or None when there is no usable cache."""
    digest = hashlib.sha256(f"{sys.version}|{key}".encode()).hexdigest()[:40]
    folder = cache_dir() / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / f"{digest}{suffix}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so readers never see half an entry."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs speed
