"""The one exception type that the format parsers raise."""

from __future__ import annotations


class FormatError(Exception):
    """A malformed or unusable DTB / ACPI table.

    ``path`` is the file (or directory), ``where`` the place inside it: a byte offset
    (``"offset 0x48"``) or a device-tree node path (``"/firmware/sdei"``).
    """

    def __init__(self, path: str, where: str, message: str) -> None:
        # One line, whatever the caller (or a wrapped library) put in the message.
        message = " ".join(message.split())
        self.path = path
        self.where = where
        self.message = message
        super().__init__(f"{path}: {where}: {message}")

    def __reduce__(self) -> tuple[type[FormatError], tuple[str, str, str]]:
        # Keep the three fields when pickled (e.g. across multiprocessing).
        return (type(self), (self.path, self.where, self.message))


def at(offset: int) -> str:
    """The ``where`` text for a byte offset."""
    return f"offset {offset:#x}"
