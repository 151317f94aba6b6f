"""Settings defined once: the flags of ``assist serve`` and the docs tables come from ``ServerConfig``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from assist.settings import SETTINGS, ConfigError, ServerConfig, default_text
from assist.settings_views import DOCS, add_arguments, flag_values, markdown_table, render_doc

ROOT = Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assist serve")
    add_arguments(parser)
    return parser


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_docs_tables_match_the_definition(doc: str) -> None:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    assert render_doc(text, DOCS[doc]) == text, (
        f"docs/{doc}: the settings table differs from assist/settings.py; "
        "run `.venv/bin/python -m assist.settings_views --write`"
    )


def test_a_changed_definition_makes_the_doc_check_fail() -> None:
    groups = DOCS["server.md"]
    text = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    stale = text.replace("| 8765 |", "| 8000 |", 1)
    assert stale != text and render_doc(stale, groups) == text  # the check sees the edit and would repair it
    with pytest.raises(ValueError, match="no <!-- settings"):
        render_doc("no markers here", groups)


def test_every_setting_is_in_the_table_once() -> None:
    first_cells = [row.split(" | ")[0] for row in markdown_table(tuple(DOCS["server.md"])).splitlines()[2:]]
    assert len(first_cells) == len(SETTINGS)
    for name, spec in SETTINGS.items():
        label = f"| `{spec.env}`" if spec.env else f"| `{spec.flag}`"
        assert sum(cell.startswith(label) for cell in first_cells) == 1, name


def test_flags_are_generated_with_the_defaults_from_the_definition() -> None:
    parser = _parser()
    actions = {a.dest: a for a in parser._actions if a.dest != "help"}
    flagged = {name for name, spec in SETTINGS.items() if spec.flag}
    assert set(actions) == flagged
    for name in flagged:
        action = actions[name]
        assert action.default is None  # never a second default: ServerConfig's applies
        assert action.help is not None and f"default: {default_text(name)}" in action.help.replace("%%", "%")
        assert action.option_strings == [SETTINGS[name].flag]
    help_text = " ".join(parser.format_help().split())
    assert "--no-model" in help_text and "--demo" in help_text and "$ASSIST_PORT, default: 8765" in help_text


def test_flag_over_variable_over_default() -> None:
    env = {"ASSIST_PORT": "9000", "ASSIST_MAX_CALLS": "5", "ASSIST_GATE": "on", "ASSIST_DATA_DIR": "/srv/assist"}
    args = _parser().parse_args(["--port", "9100", "--no-gate", "--no-model", "--demo", "--tokens", "/t.toml"])
    config = ServerConfig.load(env, flag_values(args))
    assert config.port == 9100 and config.max_calls == 5 and config.gate is False  # flag, variable, flag
    assert config.speech_model is False and config.demo is True and config.host == "127.0.0.1"  # default
    assert config.token_path == Path("/t.toml")
    assert config.database_path == Path("/srv/assist/var/demo.sqlite3")  # demo calls stay out of the real history
    assert config.models_path == Path("/srv/assist/models")
    untouched = ServerConfig.load({}, flag_values(_parser().parse_args([])))
    assert untouched == ServerConfig()


def test_a_bad_flag_names_the_flag_as_written() -> None:
    args = _parser().parse_args(["--db", "", "--tokens", "", "--port", "x"])
    with pytest.raises(ConfigError, match=r"^--port='x' is invalid: expected an integer from 0 to 65535"):
        ServerConfig.load({}, flag_values(args))
    args = _parser().parse_args(["--auth", "sometimes"])
    with pytest.raises(ConfigError, match=r"^--auth='sometimes' is invalid: expected one of auto, on, off"):
        ServerConfig.load({}, flag_values(args))


def test_runtime_paths_default_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = ServerConfig()
    assert config.database_path == tmp_path / "var" / "assist.sqlite3"
    assert config.token_path == tmp_path / "var" / "tokens.toml"
    assert config.models_path == tmp_path / "models"
    assert ServerConfig(data_dir=tmp_path / "d").database_path == tmp_path / "d" / "var" / "assist.sqlite3"
