"""CURVE: encryption, and clients admitted by their public keys. zmq only: the native variant's security is
the managers' shared key, which authenticates but does not encrypt.

`reqrep zmq keys DIR` makes three key pairs: the server's, the requesters' (client) and the responders'. The
broker admits at its front the public keys in DIR/authorized/, at its back those in DIR/responders/, each
side a ZAP domain, so a requester's key makes no responder. Secret files and the folder are the owner's alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

import zmq

from shared.core.config import NOT_RECORDED
from shared.core.errors import UsageError

SERVER_KEY, CLIENT_KEY, RESPONDER_KEY = "server", "client", "responder"
SECRET_SUFFIX = ".key_secret"
FRONT, BACK = "front", "back"  # the broker's sides, as ZAP domains
ADMITTED = {FRONT: ("authorized", CLIENT_KEY), BACK: ("responders", RESPONDER_KEY)}  # its folder, whose keys
OLDER_FOLDER = ("a folder made before responders had keys of their own: `reqrep zmq keys DIR` on the "
                "broker's folder adds them, keeping the others; the responders need its responder.key_secret")


def security(parameters: dict) -> str:
    """A run's recorded --curve in words: on, off, or not recorded in a file older than it."""
    if "curve" not in parameters:
        return NOT_RECORDED
    return "CURVE on" if parameters["curve"] else "CURVE off"


def create_keys(folder: str, *, force: bool = False) -> list[str]:
    """The server's, the requesters' and the responders' key pairs, each client's public key authorized on its
    side. Existing keys are kept unless `force`; a folder from before responders had keys gets theirs."""
    pairs = (SERVER_KEY, CLIENT_KEY, RESPONDER_KEY)
    existing = [name for name in pairs if os.path.exists(os.path.join(folder, f"{name}{SECRET_SUFFIX}"))]
    if force or not existing:
        wanted = pairs
    elif existing == [SERVER_KEY, CLIENT_KEY]:
        wanted = (RESPONDER_KEY,)
    else:
        held = ", ".join(f"{name}{SECRET_SUFFIX}" for name in existing)
        raise UsageError(f"{folder} already holds keys ({held}): replacing them would lock out every client "
                         f"that uses them; add --force to replace them anyway")
    try:
        return make_pairs(folder, wanted)
    except OSError as error:
        raise UsageError(f"cannot write keys into {folder}: {error.strerror}") from None


def make_pairs(folder: str, names: tuple[str, ...]) -> list[str]:
    """Key pairs `names` in `folder`, secret files 0600, each client's public key into its side's folder."""
    import zmq.auth

    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o700)
    made = []
    for name in names:
        pair = zmq.auth.create_certificates(folder, name)
        for path in pair:
            if path.endswith(SECRET_SUFFIX):
                os.chmod(path, 0o600)
        made += pair
        for admitted, key in ADMITTED.values():
            if key == name:
                os.makedirs(os.path.join(folder, admitted), exist_ok=True)
                made.append(shutil.copy(os.path.join(folder, f"{name}.key"), os.path.join(folder, admitted)))
    return made


@contextlib.contextmanager
def keys_for_a_run() -> Iterator[str]:
    """`run --curve`: keys made for this run in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="reqrep-curve-") as folder:
        create_keys(folder)
        yield folder


def _certificate(path: str, hint: str = "") -> tuple[bytes, bytes | None]:
    import zmq.auth

    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot load the CURVE key {path}: {error}{hint}") from None


def _key_pair(folder: str, name: str) -> tuple[bytes, bytes]:
    hint = OLDER_FOLDER if name == RESPONDER_KEY else "create keys with `reqrep zmq keys DIR`"
    return _certificate(os.path.join(folder, f"{name}{SECRET_SUFFIX}"), f" ({hint})")


def start_authenticator(folder: str, context: zmq.Context, sides: tuple[str, ...] = (FRONT,)):
    """With CURVE (`folder` not empty), a ZAP handler (a thread, the caller stops it) that admits at each of
    `sides` only the public keys in that side's folder; None without CURVE."""
    if not folder:
        return None
    from zmq.auth.thread import ThreadAuthenticator

    for side in sides:
        allowed = os.path.join(folder, ADMITTED[side][0])
        if not os.path.isdir(allowed):
            hint = f" ({OLDER_FOLDER})" if side == BACK else ""
            raise UsageError(f"no folder of authorized {ADMITTED[side][1]} keys at {allowed}{hint}")
    handler = ThreadAuthenticator(context)
    handler.start()
    for side in sides:
        handler.configure_curve(domain=side, location=os.path.join(folder, ADMITTED[side][0]))
    return handler


def secure_server(socket: zmq.Socket, folder: str, side: str = FRONT) -> None:
    """CURVE on a listening socket: the server's keys, and the clients admitted at `side`."""
    if folder:
        socket.curve_publickey, socket.curve_secretkey = _key_pair(folder, SERVER_KEY)
        socket.zap_domain = side.encode()
        socket.curve_server = True


def secure_client(socket: zmq.Socket, folder: str, name: str = CLIENT_KEY) -> None:
    """CURVE on a connecting socket: the key pair `name` (a requester's, a responder's), the server's key."""
    if folder:
        socket.curve_publickey, socket.curve_secretkey = _key_pair(folder, name)
        socket.curve_serverkey, _ = _certificate(os.path.join(folder, f"{SERVER_KEY}.key"))
