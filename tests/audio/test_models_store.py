"""Model catalogue, verified download (from a local HTTP server), safe installation, checks, resolution."""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from assist.audio.model_install import download_model, install_archive, install_directory
from assist.audio.models import (
    CatalogueEntry,
    ChecksumMismatch,
    DownloadError,
    ModelError,
    ModelNotFound,
    UnsafeArchive,
    check_model_dir,
    installed_models,
    load_catalogue,
    model_sample_rate,
    parse_catalogue,
    resolve_model_dir,
)
from tests.support.model_files import FileServer, make_model_dir, make_model_zip

NAME = "vosk-model-test-0.1"


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


@pytest.fixture
def model_zip(tmp_path: Path) -> tuple[bytes, str]:
    path = make_model_zip(tmp_path / f"{NAME}.zip", NAME, tmp_path)
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- catalogue


def test_shipped_catalogue_pins_the_small_chinese_model() -> None:
    catalogue = load_catalogue()
    small = catalogue.get("vosk-model-small-cn-0.22")
    assert small is not None and catalogue.default == small.name
    assert small.sha256 == "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba"
    assert small.size == 43_898_754
    big = catalogue.get("vosk-model-cn-0.22")
    assert big is not None and big.sha256 is None and big.size is None  # not pinned, never invented


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('default = "x"\n[[model]]\nname = "x"\nurl = "ftp://a"\n', "url"),
        ('default = "x"\n[[model]]\nname = "../x"\nurl = "https://a"\n', "name"),
        ('default = "x"\n[[model]]\nname = "x"\nurl = "https://a"\nsha256 = "abc"\n', "sha256"),
        ('default = "y"\n[[model]]\nname = "x"\nurl = "https://a"\n', "default"),
        ('default = "x"\n[[model]]\nname = "x"\nurl = "https://a"\nmirror = 1\n', "unknown"),
    ],
)
def test_catalogue_is_parsed_strictly(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_catalogue(text)


# ---------------------------------------------------------------- download


def test_download_with_matching_checksum_installs(
    tmp_path: Path, file_server: FileServer, model_zip: tuple[bytes, str]
) -> None:
    data, sha = model_zip
    file_server.routes["/m.zip"] = data
    models = tmp_path / "models"
    entry = CatalogueEntry(NAME, "https://invalid.example/never-used.zip", sha, len(data))
    path = download_model(entry, models, url=f"{file_server.base_url}/m.zip", progress=False)
    assert path == models / NAME
    assert check_model_dir(path).ok
    assert leftovers(models) == [NAME]  # the .part file is gone
    assert file_server.requests == ["/m.zip"]


def test_checksum_mismatch_is_refused_and_nothing_is_installed(
    tmp_path: Path, file_server: FileServer, model_zip: tuple[bytes, str]
) -> None:
    data, _ = model_zip
    file_server.routes["/m.zip"] = data
    models = tmp_path / "models"
    entry = CatalogueEntry(NAME, "https://invalid.example/x.zip", "0" * 64, len(data))
    with pytest.raises(ChecksumMismatch, match="refusing"):
        download_model(entry, models, url=f"{file_server.base_url}/m.zip", progress=False)
    assert leftovers(models) == []


def test_size_mismatch_is_refused(tmp_path: Path, file_server: FileServer, model_zip: tuple[bytes, str]) -> None:
    data, sha = model_zip
    file_server.routes["/m.zip"] = data
    entry = CatalogueEntry(NAME, "https://invalid.example/x.zip", sha, len(data) + 1)
    with pytest.raises(ChecksumMismatch):
        download_model(entry, tmp_path / "models", url=f"{file_server.base_url}/m.zip", progress=False)
    assert leftovers(tmp_path / "models") == []


def test_truncated_download_is_an_error(tmp_path: Path, file_server: FileServer, model_zip: tuple[bytes, str]) -> None:
    data, _ = model_zip
    file_server.routes["/m.zip"] = data
    file_server.truncate.add("/m.zip")
    entry = CatalogueEntry(NAME, "https://invalid.example/x.zip")  # nothing pinned: the length still counts
    with pytest.raises(DownloadError, match="incomplete"):
        download_model(entry, tmp_path / "models", url=f"{file_server.base_url}/m.zip", progress=False)
    assert leftovers(tmp_path / "models") == []


def test_network_failure_says_how_to_install_by_hand(tmp_path: Path, file_server: FileServer) -> None:
    entry = CatalogueEntry(NAME, "https://invalid.example/x.zip", "a" * 64)
    with pytest.raises(DownloadError) as info:
        download_model(entry, tmp_path / "models", url=f"{file_server.base_url}/missing.zip", progress=False)
    message = str(info.value)
    assert "/missing.zip" in message and "assist models install" in message and "a" * 64 in message
    assert leftovers(tmp_path / "models") == []


def test_unreachable_host_is_a_download_error(tmp_path: Path) -> None:
    entry = CatalogueEntry(NAME, "http://127.0.0.1:9/x.zip")  # discard port: connection refused
    with pytest.raises(DownloadError, match="could not download"):
        download_model(entry, tmp_path / "models", progress=False, timeout=5)


def test_archive_with_path_traversal_is_refused(tmp_path: Path, file_server: FileServer) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr(f"{NAME}/am/final.mdl", "x")
        zf.writestr(f"{NAME}/../../escaped.txt", "gotcha")
    data = evil.read_bytes()
    file_server.routes["/evil.zip"] = data
    entry = CatalogueEntry(NAME, "https://invalid.example/x.zip", hashlib.sha256(data).hexdigest())
    models = tmp_path / "deep" / "models"
    with pytest.raises(UnsafeArchive, match=r"escaped\.txt"):
        download_model(entry, models, url=f"{file_server.base_url}/evil.zip", progress=False)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "deep" / "escaped.txt").exists()
    assert leftovers(models) == []


@pytest.mark.parametrize("member", ["/etc/evil", "C:/evil", "a/../../evil"])
def test_unsafe_member_names_are_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(member, "x")
    with pytest.raises(UnsafeArchive):
        install_archive(archive, tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_symlink_members_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo(f"{NAME}/am")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc")
    with pytest.raises(UnsafeArchive):
        install_archive(archive, tmp_path / "models")


# ---------------------------------------------------------------- install


def test_install_from_zip_checks_the_checksum(tmp_path: Path, model_zip: tuple[bytes, str]) -> None:
    _data, sha = model_zip
    archive = tmp_path / f"{NAME}.zip"
    models = tmp_path / "models"
    with pytest.raises(ChecksumMismatch):
        install_archive(archive, models, expected_sha256="f" * 64)
    assert leftovers(models) == []
    path = install_archive(archive, models, expected_sha256=sha)
    assert path == models / NAME and check_model_dir(path).ok
    with pytest.raises(ModelError, match="already exists"):
        install_archive(archive, models)
    assert install_archive(archive, models, force=True) == path


def test_install_from_zip_without_a_model_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "notes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("notes/readme.txt", "no model here")
    with pytest.raises(ModelError, match=r"am/final\.mdl"):
        install_archive(archive, tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_install_from_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "x.zip"
    bogus.write_bytes(b"PK but not really")
    with pytest.raises(ModelError, match="not a zip"):
        install_archive(bogus, tmp_path / "models")


def test_install_from_directory_copy_and_link(tmp_path: Path, model_builder: Callable[..., Path]) -> None:
    src = model_builder("my-model")
    models = tmp_path / "models"
    copied = install_directory(src, models)
    assert copied == models / "my-model" and not copied.is_symlink() and check_model_dir(copied).ok
    linked = install_directory(src, models, name="linked", link=True)
    assert linked.is_symlink() and linked.resolve() == src.resolve()
    with pytest.raises(ModelError, match="not a usable"):
        install_directory(tmp_path / "src", models)


# ---------------------------------------------------------------- verify and resolve


def test_check_accepts_both_graph_layouts_and_reads_the_rate(model_builder: Callable[..., Path]) -> None:
    assert check_model_dir(model_builder("a", lookahead=True)).ok
    static = model_builder("b", lookahead=False, rate=8000)
    assert check_model_dir(static).ok
    assert model_sample_rate(static) == 8000
    assert model_sample_rate(model_builder("c")) == 16000


@pytest.mark.parametrize(
    ("remove", "problem"),
    [("am/final.mdl", "am/final.mdl"), ("conf", "conf/"), ("graph/Gr.fst", "graph/"), ("ivector/final.ie", "final.ie")],
)
def test_check_names_what_is_missing(model_builder: Callable[..., Path], remove: str, problem: str) -> None:
    path = model_builder("broken")
    target = path / remove
    if target.is_dir():
        for f in target.iterdir():
            f.unlink()
        target.rmdir()
    else:
        target.unlink()
    check = check_model_dir(path)
    assert not check.ok and any(problem in p for p in check.problems)


def test_real_korean_model_passes_the_check(korean_model_dir: Path) -> None:
    check = check_model_dir(korean_model_dir)
    assert check.ok, check.problems
    assert check.sample_rate == 16000


def _install_at(models: Path, name: str, mtime: float) -> Path:
    path = make_model_dir(models / name)
    os.utime(path, (mtime, mtime))
    return path


def test_resolution_order(tmp_path: Path) -> None:
    models = tmp_path / "models"
    now = time.time()
    older = _install_at(models, "older", now - 100)
    newer = _install_at(models, "newer", now)
    (models / "broken").mkdir()  # not a model: ignored
    explicit = make_model_dir(tmp_path / "elsewhere")
    env = {"ASSIST_MODEL": str(older)}
    assert resolve_model_dir(explicit, env, models_dir=models) == explicit
    assert resolve_model_dir(None, env, models_dir=models) == older
    assert resolve_model_dir(None, {"ASSIST_MODEL": "older"}, models_dir=models) == older  # a name under models/
    assert resolve_model_dir(None, {}, models_dir=models) == newer
    assert [m.name for m in installed_models(models)] == ["newer", "older"]
    assert resolve_model_dir(None, {"ASSIST_MODELS_DIR": str(models)}) == newer


def test_nothing_installed_says_which_command_installs_one(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as info:
        resolve_model_dir(None, {}, models_dir=tmp_path / "empty")
    assert "assist models download vosk-model-small-cn-0.22" in str(info.value)


@pytest.mark.parametrize("source", ["explicit", "env"])
def test_a_bad_explicit_choice_is_not_silently_replaced(tmp_path: Path, source: str) -> None:
    models = tmp_path / "models"
    make_model_dir(models / "fine")
    bad = tmp_path / "nothing-here"
    with pytest.raises(ModelNotFound) as info:
        if source == "explicit":
            resolve_model_dir(bad, {}, models_dir=models)
        else:
            resolve_model_dir(None, {"ASSIST_MODEL": str(bad)}, models_dir=models)
    assert str(bad) in str(info.value) and "assist models download" in str(info.value)
