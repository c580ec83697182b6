"""Build the project's C++ kernels on the user's machine, once, and load them with ctypes.

A kernel is one C++ file with `extern "C"` functions, compiled with -O3 -march=native and
OpenMP into the user cache dir, under a name keyed by the source, the flags, the compiler and
the CPU, so that a changed file, compiler or machine (a shared home directory) builds anew.
torch must be imported first: the library then shares torch's OpenMP runtime (libgomp.so.1)
instead of loading a second thread pool beside it.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from hpo.files import UnsafeFileError, check_private, private_dir, user_cache_dir

FLAGS = ("-O3", "-march=native", "-fopenmp", "-std=c++17", "-shared", "-fPIC")
COMPILER_ENV = "CXX"


class NativeBuildError(RuntimeError):
    """No C++ compiler, or the compiler refused the source."""


def find_compiler() -> str:
    """$CXX, else the first of g++, c++ and clang++ on the PATH."""
    for candidate in (os.environ.get(COMPILER_ENV), "g++", "c++", "clang++"):
        if candidate and shutil.which(candidate):
            return candidate
    raise NativeBuildError(f"no C++ compiler found (set ${COMPILER_ENV}, or install g++)")


def cpu_identity() -> str:
    """The CPU's model and instruction-set flags (what -march=native compiles for)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine() + platform.processor()
    keep = [line for line in lines if line.startswith(("model name", "flags", "Features", "CPU part"))]
    return "\n".join(dict.fromkeys(keep))  # one copy per distinct line, not one per core


def build(source: Path, extra_flags: Sequence[str] = (), directory: Path | None = None) -> Path:
    """Compile `source` into a shared library unless an identical build exists; return its path."""
    compiler = find_compiler()
    flags = (*FLAGS, *extra_flags)
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout
    digest = hashlib.sha256()
    for part in (source.read_bytes(), " ".join(flags).encode(), version.encode(), cpu_identity().encode()):
        digest.update(part)
        digest.update(b"\0")
    directory = directory or user_cache_dir() / "kernels"
    target = directory / f"{source.stem}-{digest.hexdigest()[:16]}.so"
    if target.exists():
        return target
    private_dir(directory)
    # built under a private name and renamed: workers building at once never load half a file
    partial = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    result = subprocess.run(
        [compiler, *flags, "-o", str(partial), str(source)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        detail = next((line for line in result.stderr.splitlines() if "error" in line), result.stderr.strip())
        raise NativeBuildError(f"{compiler} could not build {source.name}: {detail[:300]}")
    partial.chmod(0o755)  # not writable by group or others, whatever the umask: `load` checks it
    os.replace(partial, target)
    return target


def load(source: Path, extra_flags: Sequence[str] = (), directory: Path | None = None) -> ctypes.CDLL:
    """Build (if needed) and load `source` as a ctypes library, if the built file is the user's own."""
    target = build(source, extra_flags, directory)
    try:
        check_private(target)
    except UnsafeFileError as exc:
        raise NativeBuildError(str(exc)) from None
    return ctypes.CDLL(str(target))
