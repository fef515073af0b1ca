"""Where the shipped search spaces live (packaged as `automl.search_spaces`, or `search_spaces/` in a checkout)."""

from __future__ import annotations

from pathlib import Path


def shipped_dir() -> Path:
    try:
        import automl.search_spaces as pkg

        return Path(pkg.__file__).resolve().parent
    except ImportError:  # running from a checkout without installing
        return Path(__file__).resolve().parents[1] / "search_spaces"


def shipped_spaces() -> dict[str, Path]:
    return {p.stem: p for p in sorted(shipped_dir().glob("*.yaml"))}
