"""``assist models list|download|install|verify``: manage the Vosk models the server uses."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, download, install and verify Vosk models",
        description="Manage Vosk models. Models live in models/ at the repository root "
        "(or $ASSIST_MODELS_DIR, or --dir).",
    )
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    sub.required = True

    def dir_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dir", type=Path, default=None, help="models directory (default: models/)")

    p = sub.add_parser("list", help="known and installed models; * marks the one used by default")
    dir_option(p)
    p.set_defaults(func=run_list)

    p = sub.add_parser("download", help="download a known model, verify its checksum and install it")
    p.add_argument("name", help="model name, e.g. vosk-model-small-cn-0.22")
    dir_option(p)
    p.add_argument("--url", help="download from this URL instead (a mirror); the pinned checksum still applies")
    p.add_argument("--sha256", help="expected sha256 (required to pin a model that is not in the catalogue)")
    p.add_argument("--force", action="store_true", help="replace an installed model of the same name")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_download)

    p = sub.add_parser("install", help="install a model from a downloaded .zip or an unpacked directory")
    p.add_argument("source", type=Path, metavar="ZIP_OR_DIR")
    dir_option(p)
    p.add_argument("--name", help="directory name under models/ (default: from the archive or directory)")
    p.add_argument("--link", action="store_true", help="symlink a directory instead of copying it")
    p.add_argument("--force", action="store_true", help="replace an installed model of the same name")
    p.set_defaults(func=run_install)

    p = sub.add_parser("verify", help="check a model directory (default: the model the server would use)")
    p.add_argument("path", type=Path, nargs="?", metavar="DIR")
    dir_option(p)
    p.add_argument("--load", action="store_true", help="also load it with Vosk (slow for large models)")
    p.set_defaults(func=run_verify)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _models_dir(args: argparse.Namespace) -> Path:
    from assist.audio.models import default_models_dir

    return args.dir if args.dir is not None else default_models_dir(os.environ)


def run_list(args: argparse.Namespace) -> int:
    from assist.audio.models import ModelError, installed_models, load_catalogue, resolve_model_dir

    catalogue = load_catalogue()
    base = _models_dir(args)
    installed = installed_models(base)
    try:
        chosen: Path | None = resolve_model_dir(None, os.environ, models_dir=base, catalogue=catalogue)
    except ModelError:
        chosen = None
    by_name = {m.name: m for m in installed}
    print("Known models (assist models download NAME):")
    for entry in catalogue.models:
        size = f"{entry.size / 1e6:.0f} MB" if entry.size else "size ?"
        pin = "sha256 pinned" if entry.sha256 else "checksum not pinned"
        state = "installed" if entry.name in by_name else "not installed"
        rec = " (recommended)" if entry.name == catalogue.default else ""
        print(f"  {entry.name:<28} {size:>8}  {pin:<19}  {state}{rec}")
        if entry.description:
            print(f"      {entry.description}")
    print(f"Installed in {base}:")
    if not installed:
        print("  (none)")
    for model in installed:
        mark = "*" if chosen is not None and model.path == chosen else " "
        print(f"{mark} {model.name}")
    if chosen is not None and all(m.path != chosen for m in installed):
        print(f"* {chosen} (from $ASSIST_MODEL)")
    if chosen is None:
        print(f"No model is usable: run  assist models download {catalogue.default}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from assist.audio.model_install import download_model
    from assist.audio.models import CatalogueEntry, ModelError, check_model_dir, load_catalogue, valid_model_name

    catalogue = load_catalogue()
    entry = catalogue.get(args.name)
    if args.sha256 is not None and len(args.sha256) != 64:
        return _error("--sha256 must be 64 hex digits")
    if entry is None:
        if not args.url:
            known = ", ".join(m.name for m in catalogue.models)
            return _error(f"unknown model {args.name!r}; known: {known} (or give --url for another model)")
        if not valid_model_name(args.name):
            return _error(f"{args.name!r} is not a valid model directory name")
        entry = CatalogueEntry(args.name, args.url, args.sha256.lower() if args.sha256 else None)
    elif args.sha256 is not None:
        if entry.sha256 is not None and entry.sha256 != args.sha256.lower():
            return _error(f"--sha256 differs from the checksum pinned for {entry.name} in the catalogue")
        entry = CatalogueEntry(entry.name, entry.url, args.sha256.lower(), entry.size)
    base = _models_dir(args)
    target = base / entry.name
    if not args.force and check_model_dir(target).ok:
        print(f"{entry.name} is already installed in {target} (use --force to download it again)")
        return 0
    if entry.sha256 is None:
        print(f"note: the checksum of {entry.name} is not pinned; it will be verified by structure only",
              file=sys.stderr)
    url = args.url or entry.url
    print(f"downloading {entry.name} from {url}", file=sys.stderr)
    try:
        path = download_model(entry, base, url=url, progress=not args.quiet, force=args.force)
    except ModelError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"could not write to {base}: {exc}")
    verified = "size and sha256 verified" if entry.sha256 else "structure verified, checksum not pinned"
    print(f"installed {entry.name} in {path} ({verified})")
    return 0


def run_install(args: argparse.Namespace) -> int:
    from assist.audio.model_install import install_archive, install_directory
    from assist.audio.models import ModelError, load_catalogue

    source: Path = args.source
    base = _models_dir(args)
    try:
        if source.is_dir():
            path = install_directory(source, base, name=args.name, link=args.link, force=args.force)
            how = "linked" if args.link else "copied"
            print(f"installed {path.name} in {path} ({how}, structure verified)")
            return 0
        if not source.is_file():
            return _error(f"{source} does not exist")
        stem = source.name.removesuffix(".zip")
        entry = load_catalogue().get(stem)
        expected = entry.sha256 if entry is not None else None
        path = install_archive(source, base, expected_sha256=expected, name=args.name, force=args.force)
    except ModelError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"could not install {source}: {exc}")
    if expected is not None:
        print(f"installed {path.name} in {path} (sha256 matches the catalogue)")
    elif entry is not None:
        print(f"installed {path.name} in {path} (structure verified; its checksum is not pinned)")
    else:
        print(f"installed {path.name} in {path} (structure verified; not a catalogue archive, no checksum)")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from assist.audio.models import ModelError, check_model_dir, resolve_model_dir

    path: Path | None = args.path
    if path is None:
        try:
            path = resolve_model_dir(None, os.environ, models_dir=_models_dir(args))
        except ModelError as exc:
            return _error(str(exc))
    check = check_model_dir(path)
    if not check.ok:
        print(f"NOT a usable Vosk model: {path}", file=sys.stderr)
        for problem in check.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    if args.load:
        from assist.audio.recognizer import VoskModelFactory

        try:
            VoskModelFactory(path)
        except ModelError as exc:
            return _error(str(exc))
    loaded = ", loads in Vosk" if args.load else ""
    print(f"OK: {path} is a Vosk model ({check.sample_rate} Hz{loaded})")
    return 0
