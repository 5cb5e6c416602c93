"""Float64 arrays of 1 KiB to 8 MiB, each named by its size, for `reqrep run --payload` (needs numpy):

    reqrep run zmq --codec msgpack-ext --payload benchmarks/ndarray_values.py:1MiB
    reqrep run native --payload benchmarks/ndarray_values.py:1MiB

reqrep executes this file (as it does any values file) in its own process, before the roles start.
"""

import numpy

SIZES = {f"{size}KiB" if size < 1024 else f"{size // 1024}MiB": size * 1024 for size in (1, 8, 64, 512, 1024, 8192)}
VALUES = {name: numpy.arange(size // 8, dtype="float64") for name, size in SIZES.items()}
