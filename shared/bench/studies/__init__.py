"""The studies of `reqrep bench`, one module each: what it runs and what its report section shows (see
shared/bench/study.py). The sweep's: payload, window, stalls, counts, memory; and recording, many, soak, faults with
dispatch, delay, ndarray, each a preset of its own (shared/bench/sweep.py)."""
