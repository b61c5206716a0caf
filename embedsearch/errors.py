"""Errors a user can cause and fix, each with a category that every front end maps to its own words.

The library raises one typed, one-line error; it never knows who asked. Each front end maps the
error's `category` to what its users expect (`EXIT_CODES` for the CLI, `HTTP_STATUS` for the
server; MCP marks the tool result as an error) and, through `views.error_text`, rewrites the
options a message names into its own spelling: `--min-score` for the CLI, `min_score` for HTTP
and MCP (an HTTP caller told to "pass --path" was once left to guess).

    usage     the request itself is wrong: an empty query, a bad glob, an unknown mode or option
    state     the index can't do this now: no index yet, built with another model, read-only,
              no such document
    busy      another process is writing to the index; try again
    upstream  an LLM the settings name can't be reached or answered badly
    fault     the machine or the index is broken: a damaged database, a full disk
"""
from __future__ import annotations

CATEGORIES = ("usage", "state", "busy", "upstream", "fault")
EXIT_CODES = {"usage": 2, "state": 2, "busy": 2, "upstream": 2, "fault": 1}
HTTP_STATUS = {"usage": 400, "state": 400, "busy": 409, "upstream": 502, "fault": 500}


class EmbedsearchError(Exception):
    """A user-facing error: the message says what happened and, where it can, what to do."""

    category = "usage"

    def __init__(self, message: str = "", *, category: str | None = None) -> None:
        super().__init__(message)
        if category is not None:
            if category not in CATEGORIES:
                raise ValueError(f"unknown error category {category!r}")
            self.category = category

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.category]


class NoIndexError(EmbedsearchError):
    """Nothing has been indexed at the index path yet."""

    category = "state"


class FilterError(EmbedsearchError):
    """A search filter that can't match, or matches no indexed document: `--path lovit` (a folder
    needs 'lovit/*') found nothing and said nothing.

    The library names the filter as "the path filter 'lovit'" (HTTP and MCP say that); a front end
    with its own name for it rewords the message with `worded("--path")`.
    """

    def __init__(self, name: str, value: str, template: str) -> None:
        self.name, self.value, self.template = name, value, template  # template: "... {filter} ..."
        super().__init__(self.worded(f"the {name} filter"))

    def worded(self, label: str) -> str:
        return self.template.replace("{filter}", f"{label} {self.value!r}", 1)


class ModelMismatchError(EmbedsearchError):
    """The index was built with a different embedder than the one asked for."""

    category = "state"


class IndexBusyError(EmbedsearchError):
    """Another process is writing to the same index."""

    category = "busy"


class LLMUnreachableError(EmbedsearchError):
    """An LLM is configured but cannot be reached."""

    category = "upstream"


class DamagedIndexError(EmbedsearchError):
    """The index database can't be read: damaged, or not a database at all."""

    category = "fault"


class DiskFullError(EmbedsearchError):
    """A write failed for lack of space; what was committed before stays."""

    category = "fault"


class UnknownNameError(EmbedsearchError):
    """A name no registry knows (a vector store, an LLM backend, ...); the message lists the known ones."""
