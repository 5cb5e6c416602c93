"""Output files: every path a command writes is checked before any role starts (one sentence, exit 2, nothing
run), and each file is written whole or not at all."""

from __future__ import annotations

import json
import os

import pytest
from conftest import reqrep

from shared.core import outputs

pytestmark = pytest.mark.timeout(60)
FEW = ("--requests", "200")
SMALL = (*FEW, "--requesters", "2", "--responders", "2")  # on main, quick to run before failing

# Each command with each option that writes, as "{path}" marks where the path goes.
WRITERS = {
    "run zmq --json": ["run", "zmq", *SMALL, "--json", "{path}"],
    "run native --json": ["run", "native", *SMALL, "--json", "{path}"],
    "run zmq --markdown": ["run", "zmq", *SMALL, "--markdown", "{path}"],
    "run native --pyperf": ["run", "native", *SMALL, "--pyperf", "{path}"],
    "compare --json": ["compare", *SMALL, "--json", "{path}"],
    "compare --markdown": ["compare", *SMALL, "--markdown", "{path}"],
    "compare --pyperf": ["compare", *SMALL, "--pyperf", "{path}"],
    "zmq request --json": ["zmq", "request", "--front", "tcp://127.0.0.1:1", *FEW, "--json", "{path}"],
    "native request --pyperf": ["native", "request", "--address", "127.0.0.1:1", *FEW, "--pyperf", "{path}"],
    "show --json": ["show", "{saved}", "--json", "{path}"],
    "show --markdown": ["show", "{saved}", "--markdown", "{path}"],
    "semantics --json": ["semantics", "--values", "1", "--json", "{path}"],
    "semantics --markdown": ["semantics", "--values", "1", "--markdown", "{path}"],
    "bench --out": ["bench", "--quick", "--out", "{path}"],
}


def bad_paths(tmp_path) -> dict[str, tuple[str, str]]:
    """Paths no writer can use, each with what its sentence says."""
    a_file = tmp_path / "a-file"
    a_file.write_text("kept\n")
    return {"no folder": (str(tmp_path / "missing" / "x.json"), "does not exist"),
            "under a file": (str(a_file / "x.json"), "is a file, not a folder"),
            "a folder": (str(tmp_path), "is a folder, not a file")}


@pytest.fixture
def saved(tmp_path) -> str:
    """A document for `show`: it exists, but a refused output path should stop `show` before it is read."""
    path = tmp_path / "saved.json"
    path.write_text("{}\n")
    return str(path)


@pytest.mark.parametrize("bad", ["no folder", "under a file", "a folder"])
@pytest.mark.parametrize("writer", WRITERS)
def test_an_unusable_output_path_is_refused_before_anything_runs(writer, bad, tmp_path, saved):
    path, sentence = bad_paths(tmp_path)[bad]
    if writer == "bench --out":
        if bad == "a folder":
            pytest.skip("--out names a folder")
        sentence = "is a file, not a folder"
        path = path if bad == "under a file" else str(tmp_path / "a-file")
    arguments = [each.format(path=path, saved=saved) for each in WRITERS[writer]]
    done = reqrep(*arguments, *([] if writer.startswith("show") else ["--quiet"]))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [done.stderr.strip()]
    assert sentence in done.stderr and f"--{writer.split('--')[1]}" in done.stderr
    assert done.stdout == ""  # no table, no row: nothing ran
    assert sorted(os.listdir(tmp_path)) == sorted(["a-file", "saved.json"])  # nothing made, nothing left


def test_a_good_path_is_written_whole(tmp_path):
    path = tmp_path / "run.json"
    done = reqrep("run", "native", *SMALL, "--quiet", "--json", str(path), "--markdown", str(tmp_path / "run.md"))
    assert done.returncode == 0, done.stderr
    assert json.loads(path.read_text())
    assert sorted(os.listdir(tmp_path)) == ["run.json", "run.md"]  # no temporary file left beside them


def test_a_write_that_fails_halfway_leaves_the_old_file(tmp_path):
    """json.dump writes in pieces: the first 100 kB are out when the last value turns out not to be JSON."""
    path = tmp_path / "results.json"
    path.write_text('{"old": true}\n')
    with pytest.raises(TypeError):
        outputs.write_json(str(path), {"first": "x" * 100_000, "then": object()})
    assert path.read_text() == '{"old": true}\n'
    assert os.listdir(tmp_path) == ["results.json"]  # the temporary file is gone too


def test_ctrl_c_during_a_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("# old\n")
    with pytest.raises(KeyboardInterrupt), outputs.replacing(path) as out:
        out.write("# new, half" + "x" * 100_000)
        raise KeyboardInterrupt
    assert path.read_text() == "# old\n"
    assert os.listdir(tmp_path) == ["report.md"]


def test_a_replaced_file_keeps_its_mode_and_a_new_one_follows_the_umask(tmp_path):
    kept = tmp_path / "kept.json"
    kept.write_text("{}\n")
    os.chmod(kept, 0o640)
    outputs.write_json(kept, {"new": True})
    assert json.loads(kept.read_text()) == {"new": True}
    assert kept.stat().st_mode & 0o777 == 0o640
    umask = os.umask(0o022)
    try:
        outputs.write_text(tmp_path / "new.md", "# new\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "new.md").stat().st_mode & 0o777 == 0o644
