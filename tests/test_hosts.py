"""Across hosts, for real: the broker or manager server on one network namespace, the responders on a
second, the requesters on a third, each with its own network stack, talking over a bridge. Started in
reverse order (the responders first, which wait and say so); every reply verified; the server stopped at the
end, which the responders notice. Each variant, and zmq with the load-balancing broker. Skips, saying why,
only where namespaces cannot be created."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from conftest import reqrep, wait_for_line
from hosts import Network, NoNamespaces, run_on, start_on, stop

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]
REQUESTS = 2000


@pytest.fixture(scope="module")
def network():
    hosts = Network()
    try:
        hosts.create()
    except NoNamespaces as reason:
        hosts.remove()
        pytest.skip(f"cannot create network namespaces here: {reason}")
    except BaseException:
        hosts.remove()
        raise
    try:
        yield hosts
    finally:
        hosts.remove()


@dataclass
class Deployment:
    """One variant's three commands, with its key material from a file, as on real machines."""

    server: list[str]
    responders: list[str]
    request: list[str]
    peer: str  # what the responders wait for, and lose, and where: "zmq broker at tcp://..."
    request_options: list[list[str]] = field(default_factory=lambda: [[]])
    env: dict = field(default_factory=dict)
    lost: str = "reconnecting when it is back"  # how a zmq responder says it lost its broker, and stays


def deployment(variant: str, network: Network, folder) -> Deployment:
    host = network["server"].address
    if variant.startswith("zmq"):
        keys = folder / "keys"
        assert reqrep("zmq", "keys", str(keys)).returncode == 0
        front, back, curve = f"tcp://{host}:5555", f"tcp://{host}:5556", ["--curve", str(keys)]
        # a balancing broker's responders notice its silence: heartbeats, twice a second
        broker = ["--broker", "balancing", "--heartbeat", "0.5"] if variant == "zmq-balancing" else []
        return Deployment(server=["zmq", "broker", "--front", front, "--back", back, *curve, *broker],
                          responders=["zmq", "responders", "--back", back, *curve, *broker],
                          request=["zmq", "request", "--front", front, *curve], peer=f"zmq broker at {back}",
                          request_options=[[], ["--shared-connection"]],
                          lost="waiting for it to speak again" if broker else Deployment.lost)
    key = folder / "key"
    key.write_text("a secret shared by the three hosts\n")
    address, authkey = f"{host}:50000", ["--authkey-file", str(key)]
    return Deployment(server=["native", "serve", "--address", address, "--responders", "0", *authkey],
                      responders=["native", "responders", "--address", address, *authkey],
                      request=["native", "request", "--address", address, *authkey],
                      peer=f"native server at {address}",
                      env={"REQREP_AUTHKEY": ""})  # the file, not the environment


@pytest.mark.parametrize("variant", ["zmq", "zmq-balancing", "native"])
def test_roles_on_three_hosts(variant, network, tmp_path):
    plan = deployment(variant, network, tmp_path)
    responders = server = None
    try:
        responders = start_on(network, "responders", *plan.responders, "--responders", "2", "--timeout", "60",
                              env=plan.env)
        wait_for_line(responders, f"waiting for the {plan.peer}", stream="stderr")
        server = start_on(network, "server", *plan.server, env=plan.env)
        wait_for_line(server, "serving")
        wait_for_line(responders, "serving")
        for options in plan.request_options:
            out = tmp_path / "result.json"
            done = run_on(network, "requesters", *plan.request, "--requests", str(REQUESTS), "--requesters", "4",
                          "--quiet", "--json", str(out), *options, env=plan.env)
            assert done.returncode == 0, done.stderr
            result = json.loads(out.read_text())
            assert (result["ok"], result["failed"], result["duplicated"]) == (REQUESTS, 0, 0), options
            assert result.get("shared_connection", False) == bool(options)
        stop(server)
        lost = wait_for_line(responders, f"lost the {plan.peer}", stream="stderr")
        if variant.startswith("zmq"):  # libzmq reconnects: the responders say so and stay for the broker's return
            assert plan.lost in lost and responders.poll() is None
        else:  # the queues went with the server: nothing to reconnect to, so the command ends, non-zero
            assert responders.wait(timeout=10) == 2
    finally:
        stop(responders, server)
