from __future__ import annotations

from rb.cli.app import main

raise SystemExit(main())
