"""Files on the ground floor: atomic writes, and checks before loading code or pickles.

Every package imports these down; none of them knows about caches, results or models.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import stat
import time
from pathlib import Path

from hpo.errors import HPOError

__all__ = [
    "UnsafeFileError",
    "abandoned",
    "atomic_write_bytes",
    "check_private",
    "named",
    "private_dir",
    "user_cache_dir",
]


class UnsafeFileError(HPOError):
    """A file that would be executed or unpickled is not the user's own, or others may write it."""


def atomic_write_bytes(path: Path, data: bytes, sync: bool = True, mode: int = 0o666) -> None:
    """Write `data` to `path` through a temporary file and a rename (fsync'd first unless `sync` is off).

    The temporary file is created with `mode` less the umask (0666: like any file the user makes),
    and named after this host and process so that cleanup can tell an abandoned one from one
    that another writer is still writing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{_HOST}-{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise named(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def named(exc: OSError, path: Path) -> OSError:
    """`exc` naming `path` where it names no file (a full disk says only "No space left on device")."""
    if exc.filename is not None:
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


# this host, with the writing process's pid in every temporary name it makes
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())
_TMP_RE = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
ABANDONED_AFTER_S = 24 * 3600  # a temporary file of another host this old is abandoned


def abandoned(path: Path) -> bool:
    """Whether a temporary file's writer is gone: a dead process of this host, or a day old."""
    match = _TMP_RE.match(path.name)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    if match is None or match["host"] != _HOST:
        return age > ABANDONED_AFTER_S
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def check_private(path: Path) -> None:
    """Refuse to load `path` (a compiled library, a pickle) unless this user owns it and its
    directory and neither is writable by group or others: a file planted under the expected
    name in a shared or world-writable place would otherwise run as this user."""
    for item in (path, path.parent):
        info = item.stat()
        if info.st_uid != os.getuid():
            raise UnsafeFileError(
                f"{item}: owned by uid {info.st_uid}, not by this user ({os.getuid()}); not loaded"
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeFileError(
                f"{item}: writable by group or others (mode {info.st_mode & 0o777:o}); not loaded"
            )


def private_dir(path: Path) -> Path:
    """`path` as a directory that only this user may write (made so if it is this user's own)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        path.chmod(info.st_mode & ~(stat.S_IWGRP | stat.S_IWOTH) & 0o7777)
    return path


def user_cache_dir() -> Path:
    """The user's cache directory for this project ($XDG_CACHE_HOME/hpobench)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hpobench"
