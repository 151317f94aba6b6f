"""The ``assist`` command: one sub-command per concern, each in its own module.

Each module named in ``COMMANDS`` exposes ``add_parser(subparsers)`` which adds
its sub-parser and sets ``func`` (``Callable[[argparse.Namespace], int]``).
Modules must keep heavy imports (vosk, numpy, sounddevice) inside ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = (
    "assist.cli.serve",      # assist serve
    "assist.cli.models",     # assist models list|download|install|verify
    "assist.cli.analyze",    # assist analyze
    "assist.cli.train",      # assist train
    "assist.cli.calls",      # assist calls list|show|export
    "assist.cli.replay",     # assist replay
    "assist.cli.client",     # assist client
    "assist.cli.tokens",     # assist tokens
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assist", description="热线坐席助手 — 12345 hotline agent assist")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not part of this build
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
