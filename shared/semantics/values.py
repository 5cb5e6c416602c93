"""The user's own values: a Python file that defines VALUES, a dict of name to value or a list, for `reqrep
semantics --values` and `--payload PATH[:NAME]` (once a check has shown that the codec carries each unchanged).

The file is executed once, before any role starts, as the module `reqrep_values`: the roles, forked later,
find a class it defines at its top level by name wherever a value of it is unpickled.
"""

from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
import os
import pickle
import statistics
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.core.errors import UsageError
from shared.core.sizes import size_text
from shared.core.transport import Transport
from shared.core.workload import Workload, mirror_handle, one_line
from shared.semantics.corpus import Case
from shared.semantics.outcomes import differences

if TYPE_CHECKING:
    from shared.core.config import RunConfig

MODULE = "reqrep_values"
FORM = "VALUES, a dict of name to value or a list"


def _failure(path: str, error: BaseException) -> UsageError:
    if isinstance(error, SyntaxError):
        return UsageError(f"{path} line {error.lineno}: {error.msg}")
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    where = f" at line {lines[-1]}" if lines else ""
    return UsageError(f"running {path} failed{where}: {one_line(error)}")


def execute(path: str) -> Any:
    """Run the file as the module `reqrep_values` (its folder on sys.path meanwhile, as for a script)."""
    if not os.path.isfile(path):
        raise UsageError(f"no values file at {path}")
    loader = importlib.machinery.SourceFileLoader(MODULE, path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(MODULE, loader))
    sys.modules[MODULE] = module  # before it runs: its classes are pickled by this name
    folder = str(Path(path).resolve().parent)
    sys.path.insert(0, folder)
    try:
        loader.exec_module(module)
    except (Exception, SystemExit) as error:
        del sys.modules[MODULE]
        raise _failure(path, error) from None
    finally:
        sys.path.remove(folder)
    return module


def load_values(path: str) -> dict[str, Any]:
    """The file's values by name: a dict's keys as text, a list's positions."""
    module = execute(path)
    if not hasattr(module, "VALUES"):
        raise UsageError(f"{path} defines no {FORM}")
    found = module.VALUES
    if isinstance(found, dict):
        named = {str(name): value for name, value in found.items()}
    elif isinstance(found, list):
        named = {str(index): value for index, value in enumerate(found)}
    else:
        raise UsageError(f"{path} must define {FORM}, not a {type(found).__name__}")
    if not named:
        raise UsageError(f"VALUES in {path} is empty")
    return named


def cases(path: str) -> list[Case]:
    """The file's values as the rows of `reqrep semantics`."""
    return [Case(name, lambda value=value: value) for name, value in load_values(path).items()]


def same(expected: Any, reply: Any) -> bool:
    """A payload's reply is right when identical as the semantics table means it (an array may be read-only)."""
    return not differences(expected, reply, flags=False)


@dataclasses.dataclass(frozen=True, eq=False)  # eq=False: comparing two payloads would compare every array
class Payload:
    source: str  # as given: "values.py" or "values.py:frame"
    names: tuple[str, ...]
    values: tuple

    def workload(self) -> Workload:
        """The mirror workload with these values for requests, each requester starting at another one."""
        values, count = self.values, len(self.values)
        return Workload("mirror", lambda requester_id, n: values[(requester_id + n) % count], mirror_handle, same)

    def approximate_bytes(self) -> int:
        """About what a value weighs, whatever the codec: the mean pickled size (0 if pickle takes none)."""
        sizes = []
        for value in self.values:
            try:
                sizes.append(len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)))
            except Exception:  # the check before the run says why; the size here only scales a point
                continue
        return round(statistics.fmean(sizes)) if sizes else 0

    def sizes(self, config: RunConfig) -> dict:
        """The run's bytes per request (wire_bytes averaged over the values), and `payload`: a value alone."""
        transport, encode = config.transport, config.transport.payload_codec(config).encode
        weights = [transport.wire_bytes(config, value, value) for value in self.values]
        sizes = {key: round(statistics.fmean(w[key] for w in weights)) for key in weights[0]}
        return sizes | {"payload": round(statistics.fmean(len(encode(value)) for value in self.values))}


def load_payload(spec: str) -> Payload:
    """PATH, or PATH:NAME for one of its values."""
    path, name = (spec, "") if os.path.isfile(spec) or ":" not in spec else spec.rsplit(":", 1)
    named = load_values(path)
    if name:
        if name not in named:
            raise UsageError(f"{path} has no value named {name!r} in VALUES: it has {', '.join(named)}")
        named = {name: named[name]}
    return Payload(spec, tuple(named), tuple(named.values()))


def problem(config: RunConfig, value: Any) -> str:
    """Why the run's codec cannot carry `value` there and back unchanged, or ""."""
    codec, found = config.transport.payload_codec(config), value
    for _ in range(2):  # the request, then the reply
        try:
            data = codec.encode(found)
        except Exception as error:  # RecursionError too
            return f"cannot be encoded by {codec.name} ({one_line(error)})"
        try:
            found = codec.decode(data)
        except Exception as error:
            return f"is refused by {codec.name}'s decoder ({one_line(error)})"
    try:
        changes = differences(value, found, flags=False)
    except Exception as error:  # a value whose own == or hash raises
        return f"cannot be compared with what comes back ({one_line(error)})"
    return f"comes back changed through {codec.name} ({changes[0]})" if changes else ""


def alternative(config: RunConfig, value: Any) -> str:
    """Another codec of the same transport that carries the value unchanged, or ""."""
    for codec in config.transport.semantics_codecs:
        if codec == config.codec:
            continue
        try:
            other = config.with_(codec=codec)
        except UsageError:
            continue
        if not problem(other, value):
            return codec
    return ""


def refusals(config: RunConfig, flag: str | None) -> list[str]:
    """One sentence per value its codec cannot carry unchanged, with another codec to try (with `flag`)."""
    sentences = []
    for name, value in zip(config.payload.names, config.payload.values, strict=True):
        found = problem(config, value)
        if not found:
            continue
        other = alternative(config, value) if flag else ""
        hint = f": try `{flag} {other}`" if other else ""
        sentences.append(f"`{name}` ({type(value).__qualname__}) {found}{hint}")
    return sentences


def check_payload(configs: list[RunConfig], flag_of: Callable[[Transport], str | None]) -> None:
    """Refuse, before any process starts, a run whose payload its codec cannot carry: one sentence a value."""
    sentences = [f"{config.transport.name}: {sentence}" if len(configs) > 1 else sentence
                 for config in configs if config.payload is not None
                 for sentence in refusals(config, flag_of(config.transport))]
    if sentences:
        raise UsageError("the payload cannot travel as it is:\n  " + "\n  ".join(sentences))


def ndarray_values(size: int) -> Payload:
    """One float64 array of `size` bytes: `reqrep bench`'s ndarray payload (NumPy imported only then)."""
    import numpy

    return Payload(f"ndarray: float64, {size_text(size)}", ("ndarray",), (numpy.arange(size // 8, dtype="float64"),))


BENCH_VALUES: dict[str, Callable[[int], Payload]] = {"ndarray": ndarray_values}  # kind -> values of a size
