"""Character error rate of the whole streaming pipeline on real Mandarin recordings.

    python -m bench.cer_eval --model models/vosk-model-small-cn-0.22 [--shared ../shared] [--files 5]

Starts an in-process server with the model, streams every WAV listed in
``speech/real/refs.tsv`` through ``/ws/call`` (as fast as the server takes it),
joins the final transcripts and prints per-file and overall CER (edit distance
over reference characters, after dropping spaces and punctuation).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
import unicodedata
import wave
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_CHINESE_MODEL = re.compile(r"(^|[-_])(cn|zh|chinese|mandarin)([-_.]|$)", re.IGNORECASE)


def shared_dir(env: dict[str, str] | None = None) -> Path:
    """``$ASSIST_SHARED_DIR``, else ``../shared`` beside the repository."""
    value = (env if env is not None else dict(os.environ)).get("ASSIST_SHARED_DIR", "").strip()
    return Path(value).expanduser() if value else REPO_ROOT.parent / "shared"


def looks_chinese(model_dir: Path) -> bool:
    name = model_dir.resolve().name
    return bool(_CHINESE_MODEL.search(name))


def normalize(text: str) -> str:
    """Compare characters only: NFKC, no whitespace, no punctuation or symbols."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PSZ")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass(frozen=True, slots=True)
class FileResult:
    name: str
    reference: str
    hypothesis: str
    edits: int
    seconds: float

    @property
    def cer(self) -> float:
        return self.edits / max(len(normalize(self.reference)), 1)


def load_refs(speech_dir: Path) -> list[tuple[Path, str]]:
    """(wav path, reference text) from ``refs.tsv``."""
    items: list[tuple[Path, str]] = []
    for line in (speech_dir / "refs.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, text = line.partition("\t")
        items.append((speech_dir / name.strip(), text.strip()))
    return items


def read_wav(path: Path) -> tuple[bytes, int]:
    """Mono s16le frames and rate of a WAV file."""
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono")
        return w.readframes(w.getnframes()), w.getframerate()


async def transcribe(url: str, path: Path, call_id: str) -> str:
    from bench.callclient import stream_call

    audio, rate = read_wav(path)
    # a training replay: streamed as fast as the server decodes, not held to live calls' 2x limit
    start = {"type": "start", "call_id": call_id, "agent_id": "cer", "sample_rate": rate, "mode": "training"}
    result = await stream_call(url, start, audio, chunk=rate // 5 * 2)
    if result.errors:
        raise RuntimeError(f"{path.name}: {result.errors}")
    return "".join(result.final_texts())


async def evaluate(url: str, items: list[tuple[Path, str]]) -> list[FileResult]:
    results: list[FileResult] = []
    for i, (path, reference) in enumerate(items):
        began = time.perf_counter()
        hypothesis = await transcribe(url, path, f"cer-{i}")
        edits = edit_distance(normalize(reference), normalize(hypothesis))
        results.append(FileResult(path.name, reference, hypothesis, edits, time.perf_counter() - began))
    return results


def overall_cer(results: list[FileResult]) -> float:
    chars = sum(len(normalize(r.reference)) for r in results)
    return sum(r.edits for r in results) / max(chars, 1)


def report(results: list[FileResult]) -> str:
    lines = [f"{'file':32} {'CER':>6} {'time':>6}  hypothesis / reference"]
    for r in results:
        lines.append(f"{r.name:32} {r.cer:6.3f} {r.seconds:5.1f}s  {normalize(r.hypothesis)}")
        lines.append(f"{'':47}{normalize(r.reference)}")
    lines.append(f"{'overall':32} {overall_cer(results):6.3f}  ({len(results)} files)")
    return "\n".join(lines)


async def run_server_eval(model_dir: Path, items: list[tuple[Path, str]]) -> list[FileResult]:
    from assist.audio.recognizer import VoskModelFactory
    from assist.settings import ServerConfig
    from assist.web.server import AssistServer

    factory = await asyncio.to_thread(VoskModelFactory, model_dir)
    server = AssistServer(ServerConfig(host="127.0.0.1", port=0), factory)
    await server.start()
    try:
        return await evaluate(server.url + "/ws/call", items)
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cer_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="Vosk model directory (default: $ASSIST_MODEL / newest installed)")
    parser.add_argument("--shared", type=Path, help="shared data folder (default: $ASSIST_SHARED_DIR or ../shared)")
    parser.add_argument("--files", type=int, default=0, help="only the first N files")
    args = parser.parse_args(argv)
    from assist.audio.models import ModelError, resolve_model_dir

    try:
        model_dir = resolve_model_dir(args.model, os.environ)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    speech = (args.shared or shared_dir()) / "speech" / "real"
    if not (speech / "refs.tsv").is_file():
        print(f"error: {speech / 'refs.tsv'} not found (set --shared or ASSIST_SHARED_DIR)", file=sys.stderr)
        return 2
    if not looks_chinese(model_dir):
        print(f"warning: {model_dir.name} does not look like a Chinese model; CER will be meaningless",
              file=sys.stderr)
    items = load_refs(speech)[: args.files or None]
    results = asyncio.run(run_server_eval(model_dir, items))
    print(f"model {model_dir}")
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
