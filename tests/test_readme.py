"""Every `reqrep` command the README shows, and every example in a --help text, parses and makes a valid
configuration: a flag that changes cannot leave them wrong."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from shared.cli import commands as cli
from zmq_impl.curve import create_keys

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def commands_in(text: str) -> list[str]:
    """The `reqrep ...` command lines of a text: in shell lines, split at `&&`, `;`, `|` and a trailing `&`,
    past environment assignments such as REQREP_AUTHKEY=..."""
    found = []
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ").split(" #", 1)[0]
        for piece in re.split(r"&&|;|\|(?!\|)|(?<![&>])&(?!&)", line):
            words = shlex.split(piece, comments=True) if piece.strip() else []
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words = words[1:]
            if words[:1] == ["reqrep"]:
                found.append(shlex.join(words))
    return found


INLINE = re.compile(r"`(reqrep [^`]*)`")
PLACEHOLDERS = {"MS": "2", "PATH": "out.md", "FILE": "values.py", "FILE...": "saved.json", "DIR": "keys"}


def inline_commands(text: str) -> list[str]:
    """The `reqrep ...` code spans of the prose and tables, with their placeholders filled in (--delay MS,
    FILE, DIR) and each alternative of a synopsis (`serve\\|broker`) a command of its own."""
    found = []
    for span in INLINE.findall(FENCE.sub("", text)):
        words = [PLACEHOLDERS.get(word, word) for word in span.split()]
        choices = [word.split("\\|") for word in words]
        widest = max(len(choice) for choice in choices)
        for pick in range(widest):
            found.append(shlex.join(choice[pick] if len(choice) > 1 else choice[0] for choice in choices))
    return found


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    fenced = [command for block in FENCE.findall(text) for command in commands_in(block)]
    return list(dict.fromkeys(fenced + inline_commands(text)))


def help_examples() -> list[str]:
    """The example lines of every --help text: the top level's and each command's."""
    parser = cli.Grammar(list(cli.TRANSPORTS.values())).build()
    texts = [parser.format_help()]
    stack = [parser]
    while stack:
        for action in stack.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    texts.append(sub.format_help())
                    stack.append(sub)
    return [command for text in texts if "examples:" in text for command in commands_in(text.split("examples:")[1])]


def with_files(argv: list[str], folder: Path) -> list[str]:
    """The arguments, with the key files and CURVE folders they name made in `folder` (the examples name
    places such as /etc/reqrep/key that this machine need not have)."""
    made = list(argv)
    for index, word in enumerate(made[:-1]):
        if word == "--authkey-file":
            made[index + 1] = str(folder / "key")
            (folder / "key").write_text("a shared key\n")
        elif word == "--curve" and not made[index + 1].startswith("-"):
            made[index + 1] = str(folder / "curve")
            if not (folder / "curve").exists():
                create_keys(str(folder / "curve"))
    return made


def check(command: str, monkeypatch, folder: Path) -> None:
    """Parse as the command line does, then build each configuration the command would run."""
    monkeypatch.setenv("REQREP_AUTHKEY", "a key for the parser")
    argv = with_files(shlex.split(command)[1:], folder)
    if argv[1:2] == ["keys"]:
        argv[2:3] = [str(folder / "new keys")]
    try:
        args = cli.parse(argv)
    except SystemExit as stop:
        if stop.code == 0:  # --help, --version
            return
        raise AssertionError(f"`{command}` does not parse") from None
    if args.command == "run" or args.command in ("serve", "request"):
        cli.config_for(args, cli.TRANSPORTS[args.transport])
    elif args.command == "compare":
        for transport in cli.TRANSPORTS.values():
            cli.config_for(args, transport)


def test_the_readme_shows_commands():
    assert len(readme_commands()) >= 10
    assert "reqrep compare" in readme_commands()


@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_is_valid(command, monkeypatch, capsys, tmp_path):
    check(command, monkeypatch, tmp_path)


@pytest.mark.parametrize("command", help_examples())
def test_every_help_example_is_valid(command, monkeypatch, capsys, tmp_path):
    check(command, monkeypatch, tmp_path)
