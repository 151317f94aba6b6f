"""The built wheel works on its own: pages, scripts and styles are package data, and the server writes
where it is run (its data directory), never beside site-packages.

The wheel is built from a copy of the source (so no build/ or egg-info lands in the checkout) and
installed with ``--no-deps`` into a fresh venv.  The dependencies are the ones already installed for
the tests: a ``.pth`` file puts this environment's site-packages after the fresh venv's own (what
``--system-site-packages`` does for a venv made from the base interpreter), so no download is needed
besides the build backend.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.server_process import StderrLines, reaped, terminate

ROOT = Path(__file__).resolve().parents[2]


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def _build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    shutil.copytree(ROOT / "assist", src / "assist", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = dist.glob("hotline_assist-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> tuple[Path, Path]:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(wheel)], check=True, capture_output=True, text=True, timeout=300)
    (purelib / "_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    return venv, purelib


@pytest.mark.slow
def test_the_installed_wheel_serves_the_pages_and_writes_only_where_it_runs(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    venv, purelib = _fresh_venv(tmp_path, wheel)
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "assist/web/static/overlay.html" in names and "assist/web/static/supervisor.js" in names
    assert "assist/training/samples/legal-dispute.jsonl" in names and "assist/nlp/data/kb.jsonl" in names

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSIST_", "PYTHON"))}
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import assist; print(assist.__file__)"],
                           check=True, capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert Path(where.strip()).is_relative_to(purelib), "the wheel, not the checkout, is imported"

    before = _tree(venv)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    proc = subprocess.Popen([str(venv / "bin" / "assist"), "serve", "--no-model", "--port", "0"],
                            cwd=run_dir, env=env, stderr=subprocess.PIPE, text=True)
    with reaped(proc):
        stderr = StderrLines(proc)
        port = stderr.listening_port("the installed server", timeout=60)
        base = f"http://127.0.0.1:{port}"
        for path, kind, marker in (("/", "text/html", "坐席助手"), ("/supervisor", "text/html", "<html"),
                                   ("/static/overlay.js", "text/javascript", "import")):
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith(kind)
                assert marker in response.read().decode()
        assert terminate(proc) == 0
    assert _tree(venv) == before, "nothing is written inside the venv (beside site-packages)"
    assert (run_dir / "var" / "assist.sqlite3").is_file()  # the data directory: where it runs
