"""Errors a user can cause and fix; the CLI prints them as one line and exits 2."""


class EmbedsearchError(Exception):
    """A user-facing error: the message says what happened and, where it can, what to do."""

    exit_code = 2


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


class UnknownNameError(EmbedsearchError):
    """A name no registry knows (a vector store, an LLM backend, ...); the message lists the known ones."""
