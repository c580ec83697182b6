"""Build the project's C++ kernels with `torch.utils.cpp_extension`, where asked for, and load them.

Opt-in: only with HPO_LENET_NATIVE=1, a C++ compiler and ninja (the `native` extra). A kernel is
one C++ file of `extern "C"` functions on raw float pointers, compiled with -O3 -march=native and
OpenMP into the user cache dir, in a directory keyed by the flags, the compiler and the CPU (what
-march=native compiles for, so that a home directory shared with another machine builds anew).
cpp_extension rebuilds when the source changes and builds under a file lock, so processes that
start at once never load half a file. torch must be imported first: the library then shares
torch's OpenMP runtime (libgomp.so.1) instead of loading a second thread pool beside it.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hpo.files import UnsafeFileError, check_private, private_dir, user_cache_dir

__all__ = ["ENABLE_ENV", "NativeBuildError", "build", "enabled", "find_compiler", "load"]

ENABLE_ENV = "HPO_LENET_NATIVE"
FLAGS = ("-O3", "-march=native", "-fopenmp")
COMPILER_ENV = "CXX"


class NativeBuildError(RuntimeError):
    """No C++ compiler or ninja, or the compiler refused the source."""


def enabled() -> bool:
    """Whether the user asked for the C++ kernels (HPO_LENET_NATIVE set, and not to 0)."""
    return os.environ.get(ENABLE_ENV, "") not in ("", "0")


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
    """Compile `source` into a shared library unless an up-to-date build exists; return its path."""
    from torch.utils import cpp_extension

    compiler = find_compiler()
    if not cpp_extension.is_ninja_available():
        raise NativeBuildError("ninja is not installed (pip install 'hpobench[native]')")
    flags = (*FLAGS, *extra_flags)
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout
    digest = hashlib.sha256("\0".join((" ".join(flags), version, cpu_identity())).encode()).hexdigest()
    where = private_dir((directory or user_cache_dir() / "kernels") / f"{source.stem}-{digest[:16]}")
    previous = os.environ.get(COMPILER_ENV)
    os.environ[COMPILER_ENV] = compiler  # cpp_extension compiles with $CXX, else `c++`
    try:
        library = cpp_extension.load(
            name=source.stem,
            sources=[str(source)],
            extra_cflags=list(flags),
            extra_ldflags=["-fopenmp"],
            build_directory=str(where),
            is_python_module=False,
            verbose=False,
        )
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        lines = str(error).splitlines()
        detail = next((line for line in lines if "error" in line and "Error building" not in line), lines[0])
        raise NativeBuildError(f"{compiler} could not build {source.name}: {detail.strip()[:300]}") from None
    finally:
        if previous is None:
            os.environ.pop(COMPILER_ENV, None)
        else:
            os.environ[COMPILER_ENV] = previous
    library = Path(library)
    library.chmod(library.stat().st_mode & ~0o022)  # whatever the umask: `load` checks it
    return library


def load(source: Path, extra_flags: Sequence[str] = (), directory: Path | None = None) -> ctypes.CDLL:
    """Build (if needed) and load `source` as a ctypes library, if the built file is the user's own."""
    target = build(source, extra_flags, directory)
    try:
        check_private(target)
    except UnsafeFileError as exc:
        raise NativeBuildError(str(exc)) from None
    return ctypes.CDLL(str(target))
