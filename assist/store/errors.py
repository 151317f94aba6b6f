"""What the call store raises, whichever backend holds the calls."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot do what was asked (closed, read-only, busy, unusable file)."""


class NotFound(StoreError, LookupError):
    """No call or alert with that id."""


class StoreBusy(StoreError):
    """The write queue is full (the disk is not keeping up); ``record`` refused the event."""


class SchemaError(Exception):
    """The database cannot be used by this version of the program."""
