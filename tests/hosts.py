"""Separate hosts for the tests, made of Linux network namespaces: each host has its own network stack, its
loopback and one interface on a private subnet; a fourth namespace holds the bridge they all plug into, like
the switch of a small LAN. Nothing is created in the machine's own namespace, and nothing routes out.

Every name carries this run's tag (`reqrep-<pid>-<random>-`), so parallel runs never collide, and the
namespaces of runs whose process is gone (killed before it could clean up) are removed at the next start.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass

import psutil

PREFIX = "reqrep-"
SUBNET = "10.213.0"  # private, and only ever configured inside this module's namespaces
IP_TIMEOUT = 10  # seconds for any one `ip` command
STOP_DEADLINE = 5.0
_OURS = re.compile(rf"^{PREFIX}(\d+)-[0-9a-f]+-\w+$")


class NoNamespaces(Exception):
    """This machine will not let us create network namespaces; the message says why."""


def ip(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *arguments], capture_output=True, text=True, timeout=IP_TIMEOUT)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: {done.stderr.strip()}")
    return done


def namespaces() -> list[str]:
    listed = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


@dataclass(frozen=True)
class Host:
    name: str  # its role in the tests: server, responders, requesters
    namespace: str
    address: str


class Network:
    """Three hosts on one switch. `create()` then, in `finally`, `remove()`."""

    def __init__(self, names: tuple[str, ...] = ("server", "responders", "requesters")) -> None:
        tag = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}-"
        self.switch = f"{tag}switch"
        self.hosts = {name: Host(name, f"{tag}{name}", f"{SUBNET}.{number}")
                      for number, name in enumerate(names, start=1)}
        self.created: list[str] = []

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def create(self) -> None:
        """Raises NoNamespaces if the first namespace cannot be made (not root, no `ip`); any later failure is
        a real one."""
        if shutil.which("ip") is None:
            raise NoNamespaces("the `ip` command (iproute2) is not installed")
        if os.geteuid() != 0:
            raise NoNamespaces("creating network namespaces needs root (CI runs the tests as root)")
        remove_stale()
        first = ip("netns", "add", self.switch, check=False)
        if first.returncode != 0:
            raise NoNamespaces(f"`ip netns add` failed: {first.stderr.strip()}")
        self.created.append(self.switch)
        ip("-n", self.switch, "link", "set", "lo", "up")
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        for number, host in enumerate(self.hosts.values(), start=1):
            ip("netns", "add", host.namespace)
            self.created.append(host.namespace)
            ip("-n", host.namespace, "link", "set", "lo", "up")
            # Made inside the host's namespace, its peer moved straight into the switch's: neither end ever
            # exists in the machine's own namespace, so the plain names cannot collide with anything.
            ip("-n", host.namespace, "link", "add", "eth0", "type", "veth", "peer", "name", f"port{number}",
               "netns", self.switch)
            ip("-n", self.switch, "link", "set", f"port{number}", "master", "br0", "up")
            ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip("-n", host.namespace, "link", "set", "eth0", "up")

    def remove(self) -> None:
        """Delete every namespace this network made; their veths and bridge go with them."""
        for namespace in reversed(self.created):
            ip("netns", "del", namespace, check=False)
        self.created.clear()

    def command(self, host: str, *arguments: str) -> list[str]:
        """`reqrep ARGUMENTS` on `host`: `ip netns exec` execs it, so the process is the role command itself."""
        return ["ip", "netns", "exec", self.hosts[host].namespace, sys.executable, "-m", "shared.cli", *arguments]


def remove_stale() -> None:
    """Namespaces of earlier runs of these tests whose process has died (a SIGKILLed pytest, say)."""
    for namespace in namespaces():
        match = _OURS.match(namespace)
        if match and not psutil.pid_exists(int(match.group(1))):
            ip("netns", "del", namespace, check=False)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as in conftest: a background shell may have ignored it


def start_on(network: Network, host: str, *arguments: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(network.command(host, *arguments), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})}, preexec_fn=_default_sigint)


def run_on(network: Network, host: str, *arguments: str, env: dict | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(network.command(host, *arguments), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def stop(*processes: subprocess.Popen | None) -> None:
    """SIGTERM, a deadline, then SIGKILL: nothing a test started outlives it."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_DEADLINE)
