"""The studies of `reqrep bench`, one module each (see shared/bench/study.py)."""
