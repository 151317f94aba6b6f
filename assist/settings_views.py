"""The views generated from the one definition in ``assist.settings``: ``assist serve``'s flags and the docs table.

* ``add_arguments`` adds one argparse flag per setting that has one (``dest`` is the field name; values
  stay raw strings so ``ServerConfig.load`` parses and checks flags and variables alike); the help
  shows the variable and the default taken from the definition.
* ``flag_values`` reads them back as the ``flags`` mapping of ``ServerConfig.load``.
* ``markdown_table`` renders the settings table; ``python -m assist.settings_views --write`` puts it
  between the ``<!-- settings:… -->`` markers of docs/server.md and docs/security.md, and
  tests/settings/test_settings_docs.py fails when a doc differs from the definition.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from assist.settings import SETTINGS, default_text
from assist.settings_kinds import Group, Setting

DOCS: dict[str, tuple[Group, ...]] = {  # file under docs/ → the groups of its table
    "server.md": (Group.SERVER, Group.SECURITY, Group.CLUSTER),
    "security.md": (Group.SECURITY,),
    "deployment.md": (Group.CLUSTER,),
}


def _marker(groups: Sequence[Group], end: bool) -> str:
    return f"<!-- settings:{'end' if end else '+'.join(g.name.lower() for g in groups)} -->"


def _help(name: str, spec: Setting) -> str:
    where = f"${spec.env}, " if spec.env else ""
    return f"{spec.help} ({where}default: {default_text(name)})".replace("%", "%%")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting that has one, grouped as in the docs."""
    groups: dict[Group, argparse._ArgumentGroup] = {}
    for name, spec in SETTINGS.items():
        if spec.flag is None:
            continue
        if spec.group not in groups:
            groups[spec.group] = parser.add_argument_group("settings" if spec.group is Group.SERVER else spec.group)
        target = groups[spec.group]
        if spec.switch is not None:
            target.add_argument(spec.flag, dest=name, action="store_const", const=spec.switch, help=_help(name, spec))
        else:
            metavar = spec.metavar or ("{" + ",".join(spec.kind.choices) + "}" if spec.kind.choices else "N")
            target.add_argument(spec.flag, dest=name, metavar=metavar, help=_help(name, spec))


def flag_values(args: argparse.Namespace) -> dict[str, str | None]:
    """The raw flag values by setting name (None: not given), for ``ServerConfig.load``."""
    found: dict[str, str | None] = {}
    for name, spec in SETTINGS.items():
        if spec.flag is not None:
            value = getattr(args, name, None)
            found[name] = value if isinstance(value, str) else None
    return found


def environment_epilog() -> str:
    """The settings read only from the environment, for the end of ``assist serve --help``."""
    rows = [f"  {spec.env:32} default {default_text(name):10} {spec.kind.accepted}"
            for name, spec in SETTINGS.items() if spec.env is not None and spec.flag is None]
    return "Read only from the environment (flags win over variables; docs/server.md lists all):\n" + "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(groups: Iterable[Group]) -> str:
    """The settings of ``groups`` as a Markdown table (variable and flag, default, accepted, meaning)."""
    chosen = tuple(groups)
    lines = ["| variable (flag) | default | accepted | meaning |", "|---|---|---|---|"]
    for name, spec in SETTINGS.items():
        if spec.group not in chosen:
            continue
        names = [f"`{spec.env}`"] if spec.env else []
        if spec.flag:
            names.append(f"(`{spec.flag}`)" if spec.env else f"`{spec.flag}`")
        accepted = "flag" if spec.switch is not None and spec.env is None else spec.kind.short
        lines.append(f"| {' '.join(names)} | {_cell(default_text(name))} | {_cell(accepted)} | {_cell(spec.help)} |")
    return "\n".join(lines) + "\n"


def render_doc(text: str, groups: Sequence[Group]) -> str:
    """``text`` with the block between its settings markers replaced by the generated table."""
    begin, end = _marker(groups, False), _marker(groups, True)
    head, found, rest = text.partition(begin + "\n")
    if not found or end not in rest:
        raise ValueError(f"no {begin} ... {end} block")
    return head + begin + "\n" + markdown_table(groups) + end + rest.partition(end)[2]


def main(argv: Sequence[str]) -> int:
    """``--write``: regenerate the tables in docs/ (run from the repository root); else exit 1 when one differs."""
    docs = Path("docs")  # a development tool, run from the repository root
    stale = []
    for doc, groups in DOCS.items():
        path = docs / doc
        text = path.read_text(encoding="utf-8")
        fresh = render_doc(text, groups)
        if fresh != text:
            stale.append(doc)
            if "--write" in argv:
                path.write_text(fresh, encoding="utf-8")
    if stale and "--write" not in argv:
        print(f"settings tables out of date in {', '.join(stale)}: run python -m assist.settings_views --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
