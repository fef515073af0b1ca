"""The shipped search spaces (packaged as `automl.search_spaces`, or `search_spaces/` in a checkout)."""

from __future__ import annotations

from pathlib import Path


def shipped_dir() -> Path:
    try:
        import automl.search_spaces as pkg

        return Path(pkg.__file__).resolve().parent
    except ImportError:  # running from a checkout without installing
        return Path(__file__).resolve().parents[2] / "search_spaces"


def shipped_spaces() -> dict[str, Path]:
    return {p.stem: p for p in sorted(shipped_dir().glob("*.yaml"))}


def resolve_space(name_or_path: str | Path) -> Path:
    """A path to an existing YAML file, or the file of a shipped space by name; UserInputError otherwise."""
    p = Path(name_or_path)
    if p.exists():
        return p
    shipped = shipped_spaces()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    from automl.space.errors import UserInputError, did_you_mean

    raise UserInputError(
        f"Search space {str(name_or_path)!r} is neither a file nor a shipped space"
        f"{did_you_mean(str(name_or_path), shipped)}; shipped: {', '.join(shipped)} (see `automl spaces list`)."
    )
