"""Vosk models: catalogue, verified download, safe installation, checks and default resolution.

Only the standard library is used here (plus ``tqdm`` for the progress bar, imported
when a download starts), so ``assist models`` starts fast.  The catalogue of known
models is the data file ``models.toml`` beside this module.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import stat
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from assist import paths

MODEL_ENV = "ASSIST_MODEL"
MODELS_DIR_ENV = paths.MODELS_DIR_ENV
DEFAULT_SAMPLE_RATE = 16000
_CHUNK = 1 << 20
_MAX_UNPACKED_BYTES = 16 << 30  # refuse archives that claim to unpack to more than 16 GiB


class ModelError(Exception):
    """A model could not be found, downloaded, installed or loaded; the message says what to do."""


class ModelNotFound(ModelError):
    pass


class DownloadError(ModelError):
    pass


class ChecksumMismatch(ModelError):
    pass


class UnsafeArchive(ModelError):
    pass


# ---------------------------------------------------------------- catalogue


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    name: str
    url: str
    sha256: str | None = None  # None: not pinned, verified by structure only
    size: int | None = None
    language: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Catalogue:
    default: str
    models: tuple[CatalogueEntry, ...]

    def get(self, name: str) -> CatalogueEntry | None:
        return next((m for m in self.models if m.name == name), None)


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def valid_model_name(name: str) -> bool:
    """A model name is one plain path component (no separators, no leading dot)."""
    return bool(_NAME_RE.match(name)) and name not in (".", "..")


def parse_catalogue(text: str, source: str = "models.toml") -> Catalogue:
    """Strictly parse catalogue TOML; raises ``ValueError`` naming the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: {exc}") from exc
    unknown = sorted(set(data) - {"default", "model"})
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)}")
    raw_models = data.get("model", [])
    if not isinstance(raw_models, list):
        raise ValueError(f"{source}: 'model' must be an array of tables ([[model]])")
    models: list[CatalogueEntry] = []
    allowed = {"name", "url", "sha256", "size", "language", "description"}
    for i, raw in enumerate(raw_models):
        where = f"{source}: model #{i + 1}"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} must be a table")
        extra = sorted(set(raw) - allowed)
        if extra:
            raise ValueError(f"{where}: unknown key(s) {', '.join(extra)}")
        name, url = raw.get("name"), raw.get("url")
        if not isinstance(name, str) or not valid_model_name(name):
            raise ValueError(f"{where}: 'name' must be a plain directory name")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ValueError(f"{where} ({name}): 'url' must be an http(s) URL")
        sha = raw.get("sha256")
        if sha is not None and (not isinstance(sha, str) or not _SHA_RE.match(sha)):
            raise ValueError(f"{where} ({name}): 'sha256' must be 64 lowercase hex digits")
        size = raw.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
            raise ValueError(f"{where} ({name}): 'size' must be a positive integer (bytes)")
        language, description = raw.get("language", ""), raw.get("description", "")
        if not isinstance(language, str) or not isinstance(description, str):
            raise ValueError(f"{where} ({name}): 'language' and 'description' must be strings")
        if any(m.name == name for m in models):
            raise ValueError(f"{where}: duplicate name {name}")
        models.append(CatalogueEntry(name, url, sha, size, language, description))
    default = data.get("default")
    if not isinstance(default, str) or not any(m.name == default for m in models):
        raise ValueError(f"{source}: 'default' must name one of the models")
    return Catalogue(default=default, models=tuple(models))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue shipped with the package (or the TOML file at ``path``)."""
    if path is None:
        text = resources.files("assist.audio").joinpath("models.toml").read_text(encoding="utf-8")
        return parse_catalogue(text, "assist/audio/models.toml")
    return parse_catalogue(path.read_text(encoding="utf-8"), str(path))


# ---------------------------------------------------------------- model directories


def default_models_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$ASSIST_MODELS_DIR`` if set, else ``models/`` in the data directory (``assist.paths``)."""
    return paths.default_models_dir({} if env is None else env)


@dataclass(frozen=True, slots=True)
class ModelCheck:
    path: Path
    problems: tuple[str, ...]
    sample_rate: int = DEFAULT_SAMPLE_RATE

    @property
    def ok(self) -> bool:
        return not self.problems


def _nonempty_file(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def model_sample_rate(model_dir: Path) -> int:
    """The rate the model's features are computed at (``--sample-frequency`` in conf/mfcc.conf)."""
    conf = model_dir / "conf" / "mfcc.conf"
    try:
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return DEFAULT_SAMPLE_RATE
    match = re.search(r"^\s*--sample-frequency\s*=\s*([0-9.]+)", text, re.MULTILINE)
    if not match:
        return DEFAULT_SAMPLE_RATE
    rate = round(float(match.group(1)))
    return rate if 8000 <= rate <= 48000 else DEFAULT_SAMPLE_RATE


def check_model_dir(path: Path) -> ModelCheck:
    """Structural check of a Vosk model directory (no loading)."""
    if not path.exists():
        return ModelCheck(path, (f"{path} does not exist",))
    if not path.is_dir():
        return ModelCheck(path, (f"{path} is not a directory",))
    problems: list[str] = []
    if not _nonempty_file(path / "am" / "final.mdl"):
        problems.append("missing acoustic model am/final.mdl")
    if not (path / "conf").is_dir():
        problems.append("missing conf/ directory")
    elif not _nonempty_file(path / "conf" / "mfcc.conf"):
        problems.append("missing feature config conf/mfcc.conf")
    graph = path / "graph"
    static = _nonempty_file(graph / "HCLG.fst")
    lookahead = _nonempty_file(graph / "HCLr.fst") and _nonempty_file(graph / "Gr.fst")
    if not graph.is_dir():
        problems.append("missing graph/ directory")
    elif not (static or lookahead):
        problems.append("graph/ has neither HCLG.fst nor HCLr.fst + Gr.fst")
    ivector = path / "ivector"
    if ivector.is_dir() and not _nonempty_file(ivector / "final.ie"):
        problems.append("ivector/ is present but ivector/final.ie is missing")
    return ModelCheck(path, tuple(problems), model_sample_rate(path))


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str
    path: Path
    installed_at: float  # mtime of the entry in the models directory


def installed_models(models_dir: Path) -> list[InstalledModel]:
    """Usable models directly under ``models_dir``, newest installation first."""
    if not models_dir.is_dir():
        return []
    found: list[InstalledModel] = []
    for child in models_dir.iterdir():
        if child.name.startswith(".") or not child.is_dir():
            continue
        if check_model_dir(child).ok:
            found.append(InstalledModel(child.name, child, child.lstat().st_mtime))
    found.sort(key=lambda m: (-m.installed_at, m.name))
    return found


def _install_hint(catalogue: Catalogue | None) -> str:
    name = (catalogue or load_catalogue()).default
    return f"install one with: assist models download {name}"


def _require_model(path: Path, source: str, catalogue: Catalogue | None) -> Path:
    check = check_model_dir(path)
    if not check.ok:
        raise ModelNotFound(
            f"{source} points to {path}, which is not a usable Vosk model ({'; '.join(check.problems)}); "
            f"{_install_hint(catalogue)}"
        )
    return path


def resolve_model_dir(
    explicit: Path | None,
    env: Mapping[str, str],
    *,
    models_dir: Path | None = None,
    catalogue: Catalogue | None = None,
) -> Path:
    """The model to use: ``--model``, else ``$ASSIST_MODEL``, else the newest installed one.

    ``$ASSIST_MODEL`` may be a path or the name of a model under the models directory.
    Raises ``ModelNotFound`` saying which command installs a model.
    """
    base = models_dir if models_dir is not None else default_models_dir(env)
    if explicit is not None:
        return _require_model(explicit, "--model", catalogue)
    value = env.get(MODEL_ENV, "").strip()
    if value:
        path = Path(value).expanduser()
        if not path.exists() and not path.is_absolute() and valid_model_name(value):
            path = base / value
        return _require_model(path, MODEL_ENV, catalogue)
    installed = installed_models(base)
    if installed:
        return installed[0].path
    raise ModelNotFound(
        f"no Vosk model is installed in {base} (and neither --model nor {MODEL_ENV} is set); "
        f"{_install_hint(catalogue)}"
    )


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
