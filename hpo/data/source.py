"""Find, download and verify a dataset's IDX files (FashionMNIST by default)."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from hpo.data.idx import decompressed_bytes
from hpo.errors import DataError
from hpo.files import user_cache_dir

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "DatasetSpec",
    "download",
    "get_dataset",
    "locate",
    "log",
    "read_verified",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's IDX files live and what their decompressed content must hash to."""

    name: str
    files: dict[str, tuple[str, str]]  # role -> (file name without .gz, sha256 of decompressed bytes)
    mirrors: tuple[str, ...]
    env_var: str
    system_dir: Path
    user_dir: Path = field(default_factory=lambda: user_cache_dir() / "datasets")
    install_hint: str = ""  # how to put the files in system_dir

    def filename(self, role: str) -> str:
        """The file name of one role ('train_images', ...)."""
        return self.files[role][0]


FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    files={
        "train_images": (
            "train-images-idx3-ubyte",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        "train_labels": (
            "train-labels-idx1-ubyte",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        "test_images": (
            "t10k-images-idx3-ubyte",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        "test_labels": (
            "t10k-labels-idx1-ubyte",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    },
    # HTTPS first (the files in the dataset's own repository); the official S3 website serves
    # plain HTTP only, kept as the last resort: every file is checked against its SHA-256 anyway
    mirrors=(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    env_var="FASHION_MNIST_DIR",
    system_dir=Path("/usr/share/datasets/fashion-mnist"),
    user_dir=user_cache_dir() / "datasets" / "fashion-mnist",
    install_hint="apt-get install dataset-fashion-mnist",
)


#: Datasets by name; tests swap in small generated ones.
DATASETS: dict[str, DatasetSpec] = {FASHION_MNIST.name: FASHION_MNIST}


def get_dataset(name: str = FASHION_MNIST.name) -> DatasetSpec:
    """The registered dataset called `name`."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}") from None


def find_file(directory: Path, name: str) -> Path | None:
    """The file `name` or `name.gz` in `directory`, whichever exists."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _has_all(spec: DatasetSpec, directory: Path) -> bool:
    return all(find_file(directory, name) for name, _ in spec.files.values())


def locate(spec: DatasetSpec, data_dir: str | Path | None = None) -> Path:
    """Return the directory holding all files of `spec`, downloading them if none has them.

    An explicit `data_dir` is authoritative: missing files are downloaded into it.
    Otherwise the order is $ENV_VAR, the Debian package's directory, the user cache dir.
    """
    if data_dir is not None:
        directory = Path(data_dir).expanduser()
        if not _has_all(spec, directory):
            download(spec, directory)
        return directory
    candidates = []
    if os.environ.get(spec.env_var):
        candidates.append(Path(os.environ[spec.env_var]).expanduser())
    candidates += [spec.system_dir, spec.user_dir]
    for directory in candidates:
        if _has_all(spec, directory):
            return directory
    download(spec, spec.user_dir)
    return spec.user_dir


def download(spec: DatasetSpec, directory: Path, timeout: float = 60.0) -> None:
    """Download the missing files of `spec` into `directory`, verifying each before it lands."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, sha256 in spec.files.values():
        if find_file(directory, name):
            continue
        errors = []
        for mirror in spec.mirrors:
            url = mirror.rstrip("/") + f"/{name}.gz"
            log.info("downloading %s", url)
            try:
                _fetch_verified(url, directory / f"{name}.gz", sha256, timeout)
                break
            except (urllib.error.URLError, OSError, DataError) as exc:
                errors.append(f"{url}: {exc}")
        else:
            raise DataError(
                f"{spec.name}: {name} not found locally and the download failed "
                f"({'; '.join(errors)}); point --data-dir or ${spec.env_var} at a directory holding the files"
                + (f", or `{spec.install_hint}`" if spec.install_hint else "")
            )


def _fetch_verified(url: str, target: Path, sha256: str, timeout: float) -> None:
    # Download into a temporary file in the same directory, check, then rename: a crash
    # or a bad mirror never leaves a half-written file where `locate` would find it.
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, tmp)
        except BaseException:
            tmp.close()
            tmp_path.unlink(missing_ok=True)
            raise
    try:
        content = gzip.decompress(tmp_path.read_bytes())
        _check_digest(content, sha256, url)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    os.replace(tmp_path, target)


def _check_digest(content: bytes, sha256: str, what: str) -> None:
    digest = hashlib.sha256(content).hexdigest()
    if digest != sha256:
        raise DataError(
            f"{what}: checksum mismatch (sha256 {digest[:12]}..., expected {sha256[:12]}...); "
            "the file is truncated or corrupted"
        )


def read_verified(spec: DatasetSpec, directory: Path, role: str) -> bytes:
    """The decompressed bytes of one file, refused unless they hash to the expected SHA-256."""
    name, sha256 = spec.files[role]
    path = find_file(directory, name)
    if path is None:
        raise DataError(f"{directory / name}: file not found")
    content = decompressed_bytes(path)
    _check_digest(content, sha256, str(path))
    return content
