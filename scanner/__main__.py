"""Allow ``python -m scanner``: the same entry point as the ``patchmortem`` console script."""

from __future__ import annotations

from scanner.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through the console script tests
    main()
