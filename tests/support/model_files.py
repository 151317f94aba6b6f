"""Fake Vosk model directories and archives, and the state of the local HTTP server that serves them
(the ``file_server`` fixture of tests/audio/conftest.py)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FileServer:
    """Serves ``routes`` (path → bytes) on 127.0.0.1; ``truncate`` paths announce more bytes than sent."""

    base_url: str
    routes: dict[str, bytes] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)


def make_model_dir(root: Path, *, lookahead: bool = True, rate: int | None = None) -> Path:
    """A directory with the structure of a Vosk model (files with dummy content)."""
    root.mkdir(parents=True, exist_ok=True)
    files = {"am/final.mdl": b"mdl", "conf/model.conf": b"--beam=10\n", "ivector/final.ie": b"ie"}
    mfcc = "--use-energy=false\n" + (f"--sample-frequency={rate}\n" if rate else "")
    files["conf/mfcc.conf"] = mfcc.encode()
    if lookahead:
        files |= {"graph/HCLr.fst": b"hclr", "graph/Gr.fst": b"gr"}
    else:
        files |= {"graph/HCLG.fst": b"hclg", "graph/words.txt": b"<eps> 0\n"}
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def make_model_zip(path: Path, name: str, tmp: Path) -> Path:
    """A zip like the official ones: one top folder ``name/`` holding the model."""
    model = make_model_dir(tmp / f"src-{name}")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/", "")
        for file in sorted(model.rglob("*")):
            if file.is_file():
                zf.write(file, f"{name}/{file.relative_to(model).as_posix()}")
    return path
