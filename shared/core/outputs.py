"""The files reqrep writes: every output path checked before any role starts, and each file written whole or
not at all (a temporary file beside it, then os.replace)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from shared.core.errors import UsageError

FILE_OPTIONS = ("json", "markdown", "pyperf")  # each PATH option of run, compare, request, show and semantics


def check(args: argparse.Namespace) -> None:
    """Every output path the options name, or a UsageError."""
    for dest in FILE_OPTIONS:
        if path := getattr(args, dest, None):
            check_file(f"--{dest}", path)
    if out := getattr(args, "out", None):
        check_folder("--out", out)


def check_file(flag: str, path: str) -> None:
    """A file `flag` may write: its folder exists and takes files, and it is no folder nor read-only."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"{flag} {path} is a folder, not a file")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {path}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist")
    writable(flag, path, folder)
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"{flag} {path}: the file is not writable")


def check_folder(flag: str, path: str) -> None:
    """A folder `flag` writes into, made if need be: no file, and it or the ancestor it is made in takes files."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {path} is a file, not a folder")
    existing = next(each for each in (folder, *folder.absolute().parents) if each.exists())
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: {existing} is a file, not a folder")
    writable(flag, path, existing)


def writable(flag: str, path: str, folder: Path) -> None:
    """A file made and removed in `folder`, as the writer will (permissions alone miss a read-only mount)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".reqrep-check."):
            pass
    except OSError as error:
        raise UsageError(f"{flag} {path}: cannot write in the folder {folder}: {error.strerror}") from None


@contextlib.contextmanager
def replacing_path(path: str | Path) -> Iterator[str]:
    """A temporary path beside `path`: it replaces `path` when the block ends without error."""
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    os.close(handle)
    try:
        os.chmod(temporary, permissions(target))
        yield temporary
        os.replace(temporary, target)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[TextIO]:
    """A text file to write that replaces `path` whole, or not at all."""
    with replacing_path(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        yield out


def permissions(target: Path) -> int:
    """An existing file's mode, kept; a new file's, as open() would make it (0o666 less the umask)."""
    with contextlib.suppress(FileNotFoundError):
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json(path: str | Path, document: dict | list) -> None:
    with replacing(path) as out:
        json.dump(document, out, indent=2)
        out.write("\n")


def write_text(path: str | Path, text: str) -> None:
    with replacing(path) as out:
        out.write(text)
