"""CURVE: encryption, and clients admitted by their public keys. zmq only: the native variant's security is
the managers' shared key (native_impl/connection.py), which authenticates but does not encrypt.

`reqrep zmq keys DIR` makes the keys; the broker (or a hello responder) loads the server's secret key and
admits the public keys in DIR/authorized/; every client loads the client's secret key and the server's public
key. Secret files are readable by their owner alone, and the folder is closed to others.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

import zmq

from shared.transport import UsageError

SERVER_KEY, CLIENT_KEY, AUTHORIZED = "server", "client", "authorized"
SECRET_SUFFIX = ".key_secret"


def create_keys(folder: str, *, force: bool = False) -> list[str]:
    """A server key pair, a client key pair, and the client's public key authorized. Existing keys are kept
    unless `force`: replacing them locks out every client deployed with the old ones."""
    import zmq.auth

    existing = [name for name in (f"{SERVER_KEY}{SECRET_SUFFIX}", f"{CLIENT_KEY}{SECRET_SUFFIX}")
                if os.path.exists(os.path.join(folder, name))]
    if existing and not force:
        raise UsageError(f"{folder} already holds keys ({', '.join(existing)}): replacing them would lock out "
                         f"every client that uses them; add --force to replace them anyway")
    try:
        os.makedirs(os.path.join(folder, AUTHORIZED), exist_ok=True)
        os.chmod(folder, 0o700)
        made = [*zmq.auth.create_certificates(folder, SERVER_KEY), *zmq.auth.create_certificates(folder, CLIENT_KEY)]
        for path in made:
            if path.endswith(SECRET_SUFFIX):
                os.chmod(path, 0o600)
        authorized = os.path.join(folder, AUTHORIZED, f"{CLIENT_KEY}.key")
        shutil.copy(os.path.join(folder, f"{CLIENT_KEY}.key"), authorized)
    except OSError as error:
        raise UsageError(f"cannot write keys into {folder}: {error.strerror}") from None
    return [*made, authorized]


@contextlib.contextmanager
def keys_for_a_run() -> Iterator[str]:
    """`run --curve`: keys made for this run in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="reqrep-curve-") as folder:
        create_keys(folder)
        yield folder


def _key_pair(folder: str, name: str) -> tuple[bytes, bytes]:
    import zmq.auth

    path = os.path.join(folder, f"{name}{SECRET_SUFFIX}")
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot load the CURVE key {path}: {error} "
                         f"(create keys with `reqrep zmq keys DIR`)") from None


def start_authenticator(folder: str, context: zmq.Context):
    """With CURVE (`folder` not empty), a ZAP handler (a thread) that admits only the client keys in
    folder/authorized; the caller stops it. None without CURVE."""
    if not folder:
        return None
    from zmq.auth.thread import ThreadAuthenticator

    allowed = os.path.join(folder, AUTHORIZED)
    if not os.path.isdir(allowed):
        raise UsageError(f"no folder of authorized client keys at {allowed}")
    handler = ThreadAuthenticator(context)
    handler.start()
    handler.configure_curve(domain="*", location=allowed)
    return handler


def secure_server(socket: zmq.Socket, folder: str) -> None:
    if folder:
        socket.curve_publickey, socket.curve_secretkey = _key_pair(folder, SERVER_KEY)
        socket.curve_server = True


def secure_client(socket: zmq.Socket, folder: str) -> None:
    if folder:
        import zmq.auth

        socket.curve_publickey, socket.curve_secretkey = _key_pair(folder, CLIENT_KEY)
        public = os.path.join(folder, f"{SERVER_KEY}.key")
        try:
            socket.curve_serverkey, _ = zmq.auth.load_certificate(public)
        except (OSError, ValueError) as error:
            raise UsageError(f"cannot load the CURVE key {public}: {error}") from None
