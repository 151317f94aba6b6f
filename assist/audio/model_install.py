"""Installing Vosk models: verified download, safe unpacking of an archive, copying a directory.

Only the standard library is used here (plus ``tqdm`` for the progress bar, imported when a download
starts), so ``assist models`` starts fast.  An archive is checked member by member before anything is
written (no absolute paths, no ``..``, no links, a bounded unpacked size); a download is checked
against the catalogue's SHA-256.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from assist.audio.models import (
    CatalogueEntry,
    ChecksumMismatch,
    DownloadError,
    ModelError,
    UnsafeArchive,
    check_model_dir,
    valid_model_name,
)

_CHUNK = 1 << 20
_MAX_UNPACKED_BYTES = 16 << 30  # refuse archives that claim to unpack to more than 16 GiB


# ---------------------------------------------------------------- verification helpers


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _prepare_target(target: Path, force: bool) -> None:
    if target.exists() or target.is_symlink():
        if not force:
            raise ModelError(f"{target} already exists; remove it or pass --force to replace it")
        _remove(target)


def _mark_installed(target: Path) -> None:
    """Stamp the install time (the 'newest installed' model is the default)."""
    os.utime(target, follow_symlinks=False)


# ---------------------------------------------------------------- install from an archive


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why the member must not be extracted, or None when it is a plain file or folder inside the target."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if any(part == ".." for part in name.split("/")):
        return "leaves the target directory"
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "is a link or a special file"
    if not [p for p in name.split("/") if p not in ("", ".")]:
        return "has an empty name"
    return None


def _extract_safely(archive: zipfile.ZipFile, dest: Path) -> None:
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    total = 0
    for info in archive.infolist():
        reason = _unsafe_reason(info)
        if reason is not None:
            raise UnsafeArchive(f"refusing the archive: member {info.filename!r} {reason}")
        rel = PurePosixPath(*[p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")])
        total += info.file_size
        members.append((info, rel))
    if total > _MAX_UNPACKED_BYTES:
        raise UnsafeArchive(f"refusing the archive: it would unpack to {total} bytes")
    root = dest.resolve()
    for info, rel in members:
        out = (dest / rel).resolve()
        if not out.is_relative_to(root):
            raise UnsafeArchive(f"refusing the archive: member {info.filename!r} leaves the target")
        if info.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)


def _model_root(unpacked: Path) -> Path:
    """The model directory inside an unpacked archive: its single top folder, or the top itself."""
    entries = [p for p in unpacked.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and not check_model_dir(unpacked).ok:
        return entries[0]
    return unpacked


def install_archive(
    zip_path: Path,
    models_dir: Path,
    *,
    expected_sha256: str | None = None,
    name: str | None = None,
    force: bool = False,
) -> Path:
    """Unpack a model zip into ``models_dir`` after verification; returns the installed directory.

    Nothing is left in ``models_dir`` if anything fails.
    """
    if expected_sha256 is not None:
        actual = sha256_file(zip_path)
        if actual != expected_sha256:
            raise ChecksumMismatch(
                f"sha256 of {zip_path} is {actual}, expected {expected_sha256}: refusing to install it"
            )
    if not zipfile.is_zipfile(zip_path):
        raise ModelError(f"{zip_path} is not a zip archive")
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=models_dir))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            _extract_safely(archive, tmp)
        root = _model_root(tmp)
        check = check_model_dir(root)
        if not check.ok:
            raise ModelError(f"{zip_path} does not contain a usable Vosk model: {'; '.join(check.problems)}")
        stem = zip_path.name.removesuffix(".part").removesuffix(".zip").lstrip(".")
        target_name = name or (root.name if root != tmp else stem)
        if not valid_model_name(target_name):
            raise ModelError(f"{target_name!r} is not a valid model name; pass --name")
        target = models_dir / target_name
        _prepare_target(target, force)
        root.rename(target)
        _mark_installed(target)
        return target
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{zip_path} is a damaged zip archive: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install_directory(
    src: Path, models_dir: Path, *, name: str | None = None, link: bool = False, force: bool = False
) -> Path:
    """Copy (or symlink, ``link=True``) a model directory into ``models_dir`` after a structural check."""
    check = check_model_dir(src)
    if not check.ok:
        raise ModelError(f"{src} is not a usable Vosk model: {'; '.join(check.problems)}")
    target_name = name or src.resolve().name
    if not valid_model_name(target_name):
        raise ModelError(f"{target_name!r} is not a valid model name; pass --name")
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / target_name
    if target.exists() and target.resolve() == src.resolve():
        return target
    if link:
        _prepare_target(target, force)
        target.symlink_to(src.resolve(), target_is_directory=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix=".copy-", dir=models_dir))
        try:
            copied = tmp / target_name
            shutil.copytree(src, copied, symlinks=False)
            _prepare_target(target, force)
            copied.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    _mark_installed(target)
    return target


# ---------------------------------------------------------------- download


def manual_instructions(entry: CatalogueEntry, url: str) -> str:
    pin = f" (sha256 {entry.sha256})" if entry.sha256 else ""
    return (
        f"download {url}{pin} by other means and install it with: "
        f"assist models install PATH/TO/{entry.name}.zip"
    )


def _stream(response: BinaryIO, out: BinaryIO, total: int | None, progress: bool, label: str) -> tuple[int, str]:
    from tqdm import tqdm

    digest = hashlib.sha256()
    received = 0
    with tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not progress
    ) as bar:
        while True:
            block = response.read(_CHUNK)
            if not block:
                break
            out.write(block)
            digest.update(block)
            received += len(block)
            bar.update(len(block))
    return received, digest.hexdigest()


def download_model(
    entry: CatalogueEntry,
    models_dir: Path,
    *,
    url: str | None = None,
    progress: bool = True,
    force: bool = False,
    timeout: float = 30.0,
) -> Path:
    """Download ``entry`` (from ``url`` if given), verify size and sha256, then install it.

    The archive is streamed to a ``.part`` file beside the models and deleted
    afterwards; on any failure nothing is installed and ``ModelError`` explains why.
    """
    source = url or entry.url
    models_dir.mkdir(parents=True, exist_ok=True)
    part = models_dir / f".{entry.name}.zip.part"
    try:
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response, part.open("wb") as out:
                length_header = response.headers.get("Content-Length")
                announced = int(length_header) if length_header and length_header.isdigit() else None
                received, digest = _stream(response, out, announced or entry.size, progress, entry.name)
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DownloadError(
                f"could not download {source}: {reason}; {manual_instructions(entry, source)}"
            ) from exc
        if announced is not None and received != announced:
            raise DownloadError(
                f"download of {source} is incomplete ({received} of {announced} bytes); "
                f"try again, or {manual_instructions(entry, source)}"
            )
        if entry.size is not None and received != entry.size:
            raise ChecksumMismatch(
                f"{source} gave {received} bytes, expected {entry.size}: refusing to install it"
            )
        if entry.sha256 is not None and digest != entry.sha256:
            raise ChecksumMismatch(
                f"sha256 of {source} is {digest}, expected {entry.sha256}: refusing to install it"
            )
        return install_archive(part, models_dir, name=entry.name, force=force)
    finally:
        part.unlink(missing_ok=True)
