"""rb: runbooks as code.

The package root stays import-light: `rb --help` and `rb validate` must start
fast, so nothing heavy is imported here.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
