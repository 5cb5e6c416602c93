"""Local sockets' files: the private folder a run keeps them in, and the checks on a socket path a user names
(its length, its folder, a stale file, a symbolic link), for any transport whose sockets live in files."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator

import psutil

from shared.core.errors import UsageError

SUN_PATH_BYTES = 107  # the longest path of a socket file on Linux: sun_path's 108 bytes, less the final NUL
PROBE_SECONDS = 0.5  # the look at whether a socket file found in the way is alive
PREFIX = "reqrep-"  # a private folder's name: reqrep-PID-random, PID the process that made it


@contextlib.contextmanager
def private_folder() -> Iterator[str]:
    """A folder for a run's socket files that only this user can enter (mode 0700, tempfile.mkdtemp), removed
    with everything in it however the block ends: a role killed by SIGKILL leaves its file, which goes too.
    The folders of runs whose own process was killed outright are removed by the next one."""
    remove_orphans(tempfile.gettempdir())
    folder = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # never follows a link: it removes the link itself


def remove_orphans(parent: str) -> None:
    """Remove this user's private folders in `parent` whose maker is gone and where no socket answers: a
    folder in another PID namespace sharing this temporary folder keeps a socket that answers."""
    for entry in os.scandir(parent):
        pid = entry.name.removeprefix(PREFIX).partition("-")[0]
        if not (entry.name.startswith(PREFIX) and pid.isdigit()):
            continue
        try:
            if (not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid()
                    or psutil.pid_exists(int(pid))):
                continue
            sockets = [inner.path for inner in os.scandir(entry.path)
                       if stat.S_ISSOCK(inner.stat(follow_symlinks=False).st_mode)]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if not any(answers(path) for path in sockets):
            shutil.rmtree(entry.path, ignore_errors=True)


def socket_file(folder: str, name: str) -> str:
    """The path of socket `name` in a private folder, if a socket can have it."""
    path = os.path.join(folder, name)
    if len(os.fsencode(path)) > SUN_PATH_BYTES:
        raise UsageError(f"the temporary folder {os.path.dirname(folder)} has too long a path for socket files "
                         f"(at most {SUN_PATH_BYTES} bytes): set TMPDIR to a shorter one, /tmp say")
    return path


def checked_path(path: str, address: str) -> str:
    """`path`, the file of the local socket `address`, if it can be one: absolute, at most SUN_PATH_BYTES long,
    in a folder that exists, and not a symbolic link."""
    if not path.startswith("/"):
        raise UsageError(f"the socket path of {address} must be absolute (start with /)")
    size = len(os.fsencode(path))
    if size > SUN_PATH_BYTES:
        raise UsageError(f"the socket path of {address} is {size} bytes long, more than the {SUN_PATH_BYTES} a "
                         f"socket's path may have: choose a shorter one")
    folder = os.path.dirname(path) or "/"
    if not os.path.isdir(folder):
        raise UsageError(f"there is no folder {folder} for the socket {address}: create it first")
    refuse_link(path, address)
    return path


def refuse_link(path: str, address: str) -> None:
    """A socket path that is a symbolic link is refused: it is never followed, nor removed."""
    if os.path.islink(path):
        raise UsageError(f"{address} is a symbolic link, which reqrep neither follows nor removes: name the "
                         f"socket's own path")


def claim(path: str, address: str) -> None:
    """Make way for a listener at `path`: nothing is there, or a stale socket file that nothing answers on (a
    killed run's), which is removed. A live socket, a symbolic link or any other file is refused, and left."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(found.st_mode):
        refuse_link(path, address)
    if not stat.S_ISSOCK(found.st_mode):
        raise UsageError(f"{address} names a file that is not a socket: reqrep does not replace it")
    if answers(path):
        raise UsageError(f"{address} is already in use: something listens on it")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def answers(path: str) -> bool:
    """Whether something listens on the socket file `path`. Only a refusal proves it stale: a listener too
    busy to accept within PROBE_SECONDS, or a socket of another type, counts as alive."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(PROBE_SECONDS)
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError:
            return True
        return True
