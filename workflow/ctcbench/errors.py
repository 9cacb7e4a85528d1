"""Errors that the CLI reports as one line (no traceback): they name the file and the fix."""

from __future__ import annotations


class CtcbenchError(Exception):
    """A user-facing error; its message is complete on its own."""


class DatasetError(CtcbenchError):
    """The dataset on disk does not have the expected layout or content."""


class ConfigError(CtcbenchError):
    """A configuration value is missing or invalid."""


class DownloadError(CtcbenchError):
    """A remote file could not be obtained or failed verification."""


class DiskFullError(CtcbenchError):
    """A result could not be written: its disk is full. Nothing partial is left behind, except a download's `.part`
    file, which the next run resumes."""
