"""Name -> factory registries: the one source of each vocabulary (samplers, pruners, activations, ...).

A registry is torch-free and optuna-free by construction: a factory imports its heavy library inside its
body, so the YAML validator, `automl --help` and the docs read the names without importing torch.

    ACTIVATIONS = Registry("activation")

    @ACTIVATIONS.register("relu", doc="max(0, x)")
    def _relu() -> nn.Module: ...

    ACTIVATIONS.names()            # ('relu', ...) in registration order
    ACTIVATIONS.create("relu")     # calls the factory
    ACTIVATIONS.check("relu", where="--activation")   # UserInputError with did-you-mean otherwise
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    doc: str = ""


class Registry(Generic[T]):
    """An ordered name -> factory map with clear errors for unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *, doc: str = "", aliases: tuple[str, ...] = ()) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self.add(name, factory, doc=doc, aliases=aliases)
            return factory
        return deco

    def add(self, name: str, factory: Callable[..., T], *, doc: str = "", aliases: tuple[str, ...] = ()) -> None:
        if name in self._entries or name in self._aliases:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, factory, doc or (factory.__doc__ or "").strip().split("\n")[0])
        for a in aliases:
            self._aliases[a] = name

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def doc(self, name: str) -> str:
        """The one-line description an entry was registered with (docs/CONFIG.md lists them)."""
        return self._entries[self.canonical(name)].doc

    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    def canonical(self, name: str) -> str:
        return self._aliases.get(name, name)

    def get(self, name: str) -> Callable[..., T]:
        self.check(name)
        return self._entries[self.canonical(name)].factory

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        return self.get(name)(*args, **kwargs)

    def resolve(self, name: object, what: str, hint: str = "") -> str:
        """A config value's canonical name (case, aliases); ValueError naming the accepted ones."""
        if not isinstance(name, str):
            raise ValueError(f"{what} must be a string, got {name!r}")
        key = self.canonical(name.strip().lower())
        if key not in self._entries:
            raise ValueError(f"unknown {what} {name!r}; expected one of {', '.join(self._entries)}{hint}")
        return key

    def check(self, name: Any, where: str | None = None) -> None:
        """Raise UserInputError (exit 2 in the CLI) naming the value and what is allowed."""
        if isinstance(name, str) and self.canonical(name) in self._entries:
            return
        from automl.space.errors import UserInputError, did_you_mean

        label = where or self.kind
        raise UserInputError(f"{label} {name!r} is not a {self.kind}{did_you_mean(str(name), self.names())}; "
                             f"allowed: {', '.join(self.names())}.")

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.canonical(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
