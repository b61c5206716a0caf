"""One way to make a part findable by name: readers, embedders, vector stores and LLM backends.

Each kind of part has one `Registry`. A part is registered under a name (and aliases: a reader's
file suffixes, a model's short names) as the object itself or as a "module:attr" string, which
is imported only when the part is first asked for: `embedsearch search` on FAISS never imports
the Milvus store, and `ask` with the extractive backend never imports httpx.

Other packages add parts through entry points, as simonw/llm and datasette plugins do, in the
groups `embedsearch.readers`, `embedsearch.embedders`, `embedsearch.vector_stores` and
`embedsearch.llm_backends`:

    [project.entry-points."embedsearch.readers"]
    textile = "embedsearch_textile:TextileReader"

Entry points are read the first time a name is missing or all names are listed, never for a
built-in: importing importlib.metadata and scanning the project's venv (133 distributions) took
25-30 ms, which a cold `search` does not pay. What is registered in code (the built-ins,
and anything a program registers) keeps its name: an entry point of the same name is ignored,
so an installed plugin can add parts but never silently replace one.

Why a small class and not pluggy: a part here is one object under a name, looked up by that
name; pluggy's hook calls (every plugin answers, results are collected) fit events, and would
import every plugin to learn its names.
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, TypeVar

from .errors import EmbedsearchError, UnknownNameError

T = TypeVar("T")


@dataclass
class Entry(Generic[T]):
    """One registered part. `target` is the part, or "module:attr" until it is first used."""

    name: str
    target: Any
    aliases: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    plugin: str = ""  # the distribution whose entry point added it; "" when registered in code

    @property
    def loaded(self) -> bool:
        return not isinstance(self.target, str)


class Registry(Generic[T]):
    """Parts of one kind by name; see the module docstring.

    `prepare` turns what a "module:attr" string names into the part (a reader class into its
    instance); `aliases_of` gives the aliases a part carries itself (a reader's suffixes), used
    for parts whose aliases are not known before they are imported (entry points).
    """

    def __init__(self, kind: str, group: str, *, hint: str = "",
                 prepare: Callable[[Any], T] | None = None,
                 aliases_of: Callable[[T], Iterable[str]] | None = None) -> None:
        self.kind = kind  # "vector store": how errors name it
        self.group = group  # the entry-point group
        self.hint = hint  # appended to the unknown-name error, e.g. " (e.g. milvus:URI)"
        self._prepare = prepare
        self._aliases_of = aliases_of
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}  # alias -> name
        self._plugins_loaded = False
        self._broken: set[str] = set()  # entry points that failed to import while learning aliases
        self._lock = threading.RLock()

    # -- registering ----------------------------------------------------------------------------

    def register(self, name: str, target: T | str, *, aliases: Iterable[str] = (), **meta: Any) -> Entry[T]:
        """Make `target` (the part, or "module:attr") available as `name` and `aliases`.

        A later registration of a name or an alias takes it over. For a part given as an object,
        `aliases` defaults to the ones it carries (`aliases_of`)."""
        if not isinstance(target, str) and self._prepare is not None:
            target = self._prepare(target)
        return self._add(Entry(self._fold(name), target, self._alias_tuple(target, aliases), dict(meta)), claim=True)

    def unregister(self, name: str) -> Entry[T] | None:
        """Forget a part (by name or alias) and every alias that led to it."""
        with self._lock:
            key = self._key(self._fold(name))
            entry = self._entries.pop(key, None) if key else None
            if entry is not None:
                for alias in [a for a, n in self._aliases.items() if n == key]:
                    del self._aliases[alias]
            return entry

    def _alias_tuple(self, target: Any, aliases: Iterable[str]) -> tuple[str, ...]:
        aliases = tuple(aliases)
        if not aliases and not isinstance(target, str) and self._aliases_of is not None:
            aliases = tuple(self._aliases_of(target))
        return tuple(self._fold(a) for a in aliases)

    def _add(self, entry: Entry[T], *, claim: bool) -> Entry[T]:
        """Add an entry; `claim`: take over its name and aliases (code), else only free ones (plugins)."""
        with self._lock:
            if not claim and self._key(entry.name) is not None:
                return self._entries[self._key(entry.name)]  # type: ignore[index]
            if claim:
                if entry.name in self._entries:
                    self.unregister(entry.name)
                self._aliases.pop(entry.name, None)  # the name was another part's alias: now it is this one
            self._entries[entry.name] = entry
            self._alias(entry, entry.aliases, claim)
            return entry

    def _alias(self, entry: Entry[T], aliases: Iterable[str], claim: bool) -> None:
        for alias in aliases:
            if alias == entry.name or alias in self._entries:
                continue
            if claim or alias not in self._aliases:
                self._aliases[alias] = entry.name

    # -- looking up -----------------------------------------------------------------------------

    def entry(self, name: str) -> Entry[T] | None:
        """The entry for a name or alias, without importing it; entry points are read on a miss."""
        name = self._fold(name)
        key = self._key(name)
        if key is None and self._load_plugins(learn_aliases=True):
            key = self._key(name)
        return self._entries.get(key) if key is not None else None

    def find(self, name: str) -> T | None:
        """The part for a name or alias (imported now if it was registered as a string), or None."""
        entry = self.entry(name)
        return self._resolve(entry) if entry is not None else None

    def get(self, name: str, shown: str | None = None) -> T:
        """The part for a name or alias; an unknown name is an `UnknownNameError` listing the known
        ones (`shown`: what to quote in it, e.g. the whole `milvus:URI` spec)."""
        entry = self.entry(name)
        if entry is None:
            raise self.unknown(shown if shown is not None else name)
        return self._resolve(entry)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.entry(name) is not None

    def names(self) -> list[str]:
        """Every registered name (entry points included), sorted."""
        self._load_plugins(learn_aliases=False)
        with self._lock:
            return sorted(self._entries)

    def aliases(self) -> dict[str, str]:
        """alias -> name, entry points' own aliases included (which imports them)."""
        self._load_plugins(learn_aliases=True)
        with self._lock:
            return dict(self._aliases)

    def entries(self) -> list[Entry[T]]:
        self._load_plugins(learn_aliases=False)
        with self._lock:
            return [self._entries[name] for name in sorted(self._entries)]

    def unknown(self, name: str, what: str | None = None) -> UnknownNameError:
        """The error for a name nobody registered: one line naming the known ones."""
        return UnknownNameError(f"unknown {what or self.kind} {name!r}: use one of {', '.join(self.names())}{self.hint}")

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _fold(name: str) -> str:
        return name.strip().lower()

    def _key(self, name: str) -> str | None:
        if name in self._entries:
            return name
        return self._aliases.get(name)

    def _resolve(self, entry: Entry[T]) -> T:
        if entry.loaded:
            return entry.target
        with self._lock:
            if entry.loaded:
                return entry.target
            part = load_attribute(entry.target, f"{self.kind} {entry.name!r}", entry.plugin)
            if self._prepare is not None:
                part = self._prepare(part)
            entry.target = part
            if entry.plugin and self._aliases_of is not None:
                entry.aliases = tuple(self._fold(a) for a in self._aliases_of(part))
                self._alias(entry, entry.aliases, claim=False)
            return part

    def _load_plugins(self, *, learn_aliases: bool) -> bool:
        """Read this group's entry points once; True when anything new may be known since.
        `learn_aliases`: also import the plugins whose aliases only they know."""
        changed = False
        if not self._plugins_loaded:
            with self._lock:
                if not self._plugins_loaded:
                    for ep in entry_points(self.group):
                        dist = getattr(getattr(ep, "dist", None), "name", None) or ep.value.partition(":")[0]
                        self._add(Entry(self._fold(ep.name), ep.value, plugin=dist), claim=False)
                    self._plugins_loaded = changed = True
        if learn_aliases and self._aliases_of is not None:
            pending = [e for e in list(self._entries.values())
                       if e.plugin and not e.loaded and e.name not in self._broken]
            for entry in pending:
                try:
                    self._resolve(entry)
                except EmbedsearchError:
                    self._broken.add(entry.name)  # reported when it is asked for by name, tried once here
                    continue
                changed = True
        return changed


def entry_points(group: str) -> list[Any]:
    """The installed entry points of one group (importlib.metadata is imported only here)."""
    from importlib.metadata import entry_points as installed

    return list(installed(group=group))


def load_attribute(target: str, what: str, plugin: str = "") -> Any:
    """What "module:attr.sub" names; an import that fails is one line naming the part."""
    module, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        origin = f" (from {plugin})" if plugin else ""
        raise EmbedsearchError(f"{what}{origin} could not be loaded from {target!r}: {exc}") from None
    return obj
