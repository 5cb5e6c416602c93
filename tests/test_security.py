"""Authentication: CURVE on zmq (only clients whose public key is authorized get service), and the
native side's shared key read from a file or the environment, never from the command line."""

from __future__ import annotations

import shutil
import signal

import pytest
from conftest import reqrep, reqrep_together, start_reqrep, wait_for_line

from shared.core.ports import free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def keys(tmp_path):
    folder = tmp_path / "keys"
    done = reqrep("zmq", "keys", str(folder))
    assert done.returncode == 0, done.stderr
    return folder


def serving(*arguments: str, env: dict | None = None):
    server = start_reqrep(*arguments, env=env)
    wait_for_line(server, "serving")
    return server


def stop(server) -> None:
    server.terminate()
    assert server.wait(timeout=10) == -signal.SIGTERM


def test_curve_admits_authorized_clients_only(keys, tmp_path):
    front = f"tcp://127.0.0.1:{free_port()}"
    stranger, wrong = tmp_path / "stranger", tmp_path / "wrong server key"  # the latter not the server's
    assert all(made.returncode == 0 for made in reqrep_together(*[(("zmq", "keys", str(folder)), None)
                                                                  for folder in (stranger, wrong)]))
    shutil.copy(keys / "server.key", stranger / "server.key")  # knows the server, is not known to it
    server = serving("zmq", "serve", "--front", front, "--responders", "2", "--curve", str(keys))
    try:
        good, plain, refused, broken = reqrep_together(
            (("zmq", "request", "--front", front, "--curve", str(keys), "--requests", "300", "--rounds", "1",
              "--quiet"), None),
            (("zmq", "request", "--front", front, "--requests", "10", "--timeout", "1", "--retries", "0"), None),
            (("zmq", "request", "--front", front, "--curve", str(stranger), "--requests", "10", "--timeout", "20",
              "--retries", "0"), None),
            (("zmq", "request", "--front", front, "--curve", str(wrong), "--requests", "10", "--timeout", "20"), None))
        assert good.returncode == 0, good.stderr
        assert plain.returncode == 2 and "both sides need the same security" in plain.stderr
        assert refused.returncode == 2 and "refused this client's CURVE key" in refused.stderr
        assert refused.seconds < 10  # the broker's refusal, told at once: not a timeout (beside three others)
        assert broken.returncode == 2 and "broke off the CURVE handshake" in broken.stderr, broken.stderr
        assert broken.seconds < 10  # told at once, not after the timeout
    finally:
        stop(server)


def test_run_with_curve_makes_its_own_keys():
    done = reqrep("run", "zmq", "--curve", "--requests", "300", "--requesters", "3", "--responders", "2",
                  "--rounds", "1", "--quiet")
    assert done.returncode == 0, done.stderr


def test_curve_needs_a_key_folder(tmp_path):
    done = reqrep("zmq", "serve", "--curve", str(tmp_path / "missing"))
    assert done.returncode == 2 and "no CURVE key folder" in done.stderr and "Traceback" not in done.stderr


def test_native_key_from_a_file(tmp_path):
    key, wrong, empty = tmp_path / "key", tmp_path / "wrong", tmp_path / "empty"
    key.write_text("a shared secret\n")
    wrong.write_text("another secret\n")
    empty.write_text("")
    address = f"127.0.0.1:{free_port()}"
    no_env = {"REQREP_AUTHKEY": ""}
    server = serving("native", "serve", "--address", address, "--responders", "2", "--authkey-file", str(key),
                     env=no_env)
    try:  # the same key through the environment too (the file's line end is not part of the key)
        good, same, refused = reqrep_together(
            (("native", "request", "--address", address, "--authkey-file", str(key), "--requests", "200",
              "--rounds", "1", "--quiet"),
             no_env),
            (("native", "request", "--address", address, "--requests", "20", "--rounds", "1", "--quiet"),
             {"REQREP_AUTHKEY": "a shared secret"}),
            (("native", "request", "--address", address, "--authkey-file", str(wrong)), no_env))
        assert good.returncode == 0, good.stderr
        assert same.returncode == 0, same.stderr
        assert refused.returncode == 2 and "authentication" in refused.stderr
    finally:
        stop(server)
    paths = ((empty, "is empty"), (tmp_path / "missing", "cannot read the key file"))
    done = reqrep_together(*[(("native", "request", "--address", address, "--authkey-file", str(path)), no_env)
                             for path, _ in paths])
    for each, (_, message) in zip(done, paths, strict=True):
        assert each.returncode == 2 and message in each.stderr and "Traceback" not in each.stderr


@pytest.mark.parametrize("broker", ["proxy", "balancing"])
def test_curve_admits_each_key_on_its_own_side_of_the_broker(keys, tmp_path, broker):
    """A requester's key does not make its holder a responder, nor a responder's a requester: the broker's
    back admits the keys in DIR/responders/, its front those in DIR/authorized/."""
    front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    swapped = tmp_path / "swapped"  # each client's key pair in the other's place
    swapped.mkdir()
    shutil.copy(keys / "server.key", swapped)
    for mine, theirs in (("client", "responder"), ("responder", "client")):
        for suffix in (".key", ".key_secret"):
            shutil.copy(keys / f"{mine}{suffix}", swapped / f"{theirs}{suffix}")
    curve = ("--curve", str(keys))
    server = start_reqrep("zmq", "broker", "--broker", broker, "--front", front, "--back", back, *curve)
    responders = start_reqrep("zmq", "responders", "--broker", broker, "--back", back, "--responders", "2", *curve)
    try:
        wait_for_line(server, "serving")
        wait_for_line(responders, "serving")
        good, *refusals = reqrep_together(
            (("zmq", "request", "--front", front, *curve, "--requests", "200", "--rounds", "1", "--quiet"), None),
            *[((*command, "--curve", str(swapped), "--timeout", "5"), None) for command in (
                ("zmq", "responders", "--broker", broker, "--back", back, "--responders", "1"),
                ("zmq", "request", "--front", front, "--requests", "10", "--retries", "0"))])
        assert good.returncode == 0, good.stderr
        for refused in refusals:
            assert refused.returncode == 2, refused.stderr
            assert "refused this client's CURVE key" in refused.stderr, refused.stderr
    finally:
        stop(responders)
        stop(server)


def test_a_key_folder_from_before_responder_keys_is_refused_then_completed(keys):
    """A folder with the server's and the requesters' keys only: the broker says how to add the responders',
    and `reqrep zmq keys` adds them without touching the others."""
    for made in ("responder.key", "responder.key_secret", "responders/responder.key"):
        (keys / made).unlink()
    (keys / "responders").rmdir()
    kept = {name: (keys / name).read_bytes() for name in ("server.key_secret", "client.key_secret")}
    old = reqrep("zmq", "serve", "--front", f"tcp://127.0.0.1:{free_port()}", "--curve", str(keys))
    assert old.returncode == 2 and "Traceback" not in old.stderr, old.stderr
    assert "`reqrep zmq keys DIR`" in old.stderr, old.stderr
    added = reqrep("zmq", "keys", str(keys))
    assert added.returncode == 0, added.stderr
    assert (keys / "responders" / "responder.key").exists() and (keys / "responder.key_secret").exists()
    assert {name: (keys / name).read_bytes() for name in kept} == kept
    again = reqrep("zmq", "keys", str(keys))
    assert again.returncode == 2 and "--force" in again.stderr
