"""``assist models ...`` end to end through the CLI dispatcher (local HTTP server, temporary dirs)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from assist.cli import main
from tests.support.model_files import FileServer, make_model_dir, make_model_zip

NAME = "vosk-model-test-0.1"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never look at the real models/ folder or a developer's ASSIST_MODEL."""
    monkeypatch.delenv("ASSIST_MODEL", raising=False)
    monkeypatch.setenv("ASSIST_MODELS_DIR", str(tmp_path / "default-models"))


def run(*argv: str) -> int:
    return main(["models", *argv])


def test_download_unknown_model_with_url_and_checksum(
    tmp_path: Path, file_server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_model_zip(tmp_path / "m.zip", NAME, tmp_path).read_bytes()
    file_server.routes["/m.zip"] = data
    sha = hashlib.sha256(data).hexdigest()
    models = tmp_path / "models"
    url = f"{file_server.base_url}/m.zip"
    assert run("download", NAME, "--url", url, "--sha256", sha, "--dir", str(models), "--quiet") == 0
    assert "size and sha256 verified" in capsys.readouterr().out
    assert (models / NAME / "am" / "final.mdl").is_file()
    # a second download is not needed
    assert run("download", NAME, "--url", url, "--dir", str(models), "--quiet") == 0
    assert "already installed" in capsys.readouterr().out
    assert file_server.requests == ["/m.zip"]


def test_catalogue_checksum_applies_to_a_mirror_url(
    tmp_path: Path, file_server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mirror serving some other file for the pinned model is refused; nothing is installed."""
    file_server.routes["/fake.zip"] = make_model_zip(tmp_path / "f.zip", "x", tmp_path).read_bytes()
    models = tmp_path / "models"
    url = f"{file_server.base_url}/fake.zip"
    assert run("download", "vosk-model-small-cn-0.22", "--url", url, "--dir", str(models), "--quiet") == 1
    err = capsys.readouterr().err
    assert "refusing" in err and "installed" not in capsys.readouterr().out
    assert list(models.iterdir()) == []


def test_download_failure_explains_the_manual_route(
    tmp_path: Path, file_server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{file_server.base_url}/gone.zip"
    assert run("download", "vosk-model-small-cn-0.22", "--url", url, "--dir", str(tmp_path / "m"), "--quiet") == 1
    err = capsys.readouterr().err
    assert "assist models install" in err and "3af8b0e7e0f835ae" in err


def test_unpinned_download_says_so(tmp_path: Path, file_server: FileServer, capsys: pytest.CaptureFixture[str]) -> None:
    file_server.routes["/m.zip"] = make_model_zip(tmp_path / "m.zip", NAME, tmp_path).read_bytes()
    url = f"{file_server.base_url}/m.zip"
    assert run("download", NAME, "--url", url, "--dir", str(tmp_path / "models"), "--quiet") == 0
    captured = capsys.readouterr()
    assert "not pinned" in captured.err and "checksum not pinned" in captured.out


def test_unknown_model_without_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("download", "no-such-model") == 1
    assert "vosk-model-small-cn-0.22" in capsys.readouterr().err


def test_install_zip_and_dir_then_list_and_verify(
    tmp_path: Path, model_builder: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    archive = make_model_zip(tmp_path / f"{NAME}.zip", NAME, tmp_path)
    assert run("install", str(archive), "--dir", str(models)) == 0
    assert run("install", str(model_builder("other-model")), "--dir", str(models), "--link") == 0
    capsys.readouterr()
    assert run("list", "--dir", str(models)) == 0
    out = capsys.readouterr().out
    assert "vosk-model-small-cn-0.22" in out and "not installed" in out
    assert "* other-model" in out  # the newest installation is the default
    assert f"  {NAME}" in out
    assert run("verify", "--dir", str(models)) == 0
    assert "OK" in capsys.readouterr().out
    assert run("verify", str(models / NAME)) == 0


def test_verify_bad_dir_fails_with_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    make_model_dir(bad)
    (bad / "am" / "final.mdl").unlink()
    assert run("verify", str(bad)) == 1
    err = capsys.readouterr().err
    assert "NOT a usable Vosk model" in err and "am/final.mdl" in err


def test_verify_without_any_model_names_the_install_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("verify", "--dir", str(tmp_path / "empty")) == 1
    assert "assist models download vosk-model-small-cn-0.22" in capsys.readouterr().err


def test_verify_load_rejects_a_model_vosk_cannot_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = make_model_dir(tmp_path / "fake")  # right structure, garbage content
    assert run("verify", str(fake), "--load") == 1
    assert "could not load" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.engine
def test_verify_load_accepts_the_korean_model(korean_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("verify", str(korean_model_dir), "--load") == 0
    assert "loads in Vosk" in capsys.readouterr().out
