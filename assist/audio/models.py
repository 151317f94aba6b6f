"""Vosk models: the catalogue, checks of a model directory and which model a server uses.

Installing and downloading models is ``assist.audio.model_install``.

Only the standard library is used here (plus ``tqdm`` for the progress bar, imported
when a download starts), so ``assist models`` starts fast.  The catalogue of known
models is the data file ``models.toml`` beside this module.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from assist import paths

MODEL_ENV = "ASSIST_MODEL"
MODELS_DIR_ENV = paths.MODELS_DIR_ENV
DEFAULT_SAMPLE_RATE = 16000


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
