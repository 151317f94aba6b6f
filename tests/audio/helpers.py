"""Signal generators and fake Vosk model directories / archives for the audio tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


def tone(seconds: float, rate: int, *, freq: float = 440.0, dbfs: float = -20.0, ramp_s: float = 0.0) -> Int16Array:
    """A sine at ``dbfs`` RMS, optionally faded in and out linearly over ``ramp_s``."""
    n = round(seconds * rate)
    t = np.arange(n) / rate
    amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    x = amplitude * np.sin(2 * np.pi * freq * t)
    if ramp_s > 0:
        r = min(round(ramp_s * rate), n // 2)
        envelope = np.ones(n)
        envelope[:r] = np.linspace(0, 1, r, endpoint=False)
        envelope[n - r :] = np.linspace(1, 0, r)
        x *= envelope
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def noise(seconds: float, rate: int, *, dbfs: float = -65.0, seed: int = 0) -> Int16Array:
    """White noise at ``dbfs`` RMS (a quiet phone line)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 32768 * 10 ** (dbfs / 20), round(seconds * rate))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


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
