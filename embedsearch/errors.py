"""Errors a user can cause and fix; the CLI prints them as one line and exits 2."""


class EmbedsearchError(Exception):
    """A user-facing error: the message says what happened and, where it can, what to do."""

    exit_code = 2


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


class IndexBusyError(EmbedsearchError):
    """Another process is writing to the same index."""


class ModelMismatchError(EmbedsearchError):
    """The index was built with a different embedder than the one asked for."""


class LLMUnreachableError(EmbedsearchError):
    """An LLM is configured but cannot be reached."""


class DamagedIndexError(EmbedsearchError):
    """The index database can't be read: damaged, or not a database at all."""

    exit_code = 1


class DiskFullError(EmbedsearchError):
    """A write failed for lack of space; what was committed before stays."""

    exit_code = 1
