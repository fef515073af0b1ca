"""`DataError`: the one exception the data layer raises for bad files, keys, values and configs."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from automl.space.errors import UserInputError


class DataError(UserInputError):
    """A dataset that cannot be loaded as configured.

    The message is one paragraph that names the source (file or built-in name), the field or key, the
    offending value and what is allowed. `source` and `key` are kept as attributes for programmatic use.
    """

    def __init__(self, source: str, message: str, *, key: str | None = None) -> None:
        self.source = str(source)
        self.key = key
        self.detail = message
        super().__init__(f"{self.source}: {message}")


def did_you_mean(value: object, options: Iterable[object]) -> str:
    """' Did you mean 'x'?' when a close match exists, else ''."""
    opts = [str(o) for o in options]
    text = str(value)
    match = difflib.get_close_matches(text, opts, n=1, cutoff=0.6)
    if not match:
        lowered = {o.lower(): o for o in opts}
        if text.lower() in lowered:
            match = [lowered[text.lower()]]
    return f" Did you mean {match[0]!r}?" if match else ""


def listing(options: Iterable[object], limit: int = 30) -> str:
    """Comma-separated repr list, truncated after `limit` items."""
    opts = [repr(str(o)) for o in options]
    if len(opts) > limit:
        return ", ".join(opts[:limit]) + f", ... ({len(opts) - limit} more)"
    return ", ".join(opts)
