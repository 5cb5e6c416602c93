"""The bench's presets by name, with what each answers: what the command line lists and checks without
importing the bench itself (shared/bench/sweep.py gives each preset its studies and counts)."""

DESCRIPTIONS: dict[str, str] = {
    "full": "every path against payload size, window and counts, as processes, threads and asyncio: minutes",
    "quick": "the full sweep's tables with fewer points and requests: within a minute",
    "tiny": "the full sweep's tables from a few points: seconds (a smoke test)",
    "recording": "what timing every request costs: latency recording on and off, alternately, paired per round",
    "recording-tiny": "the recording study in seconds",
    "many": "10, 100 and 1,000 requesters as processes, threads and asyncio tasks",
    "many-tiny": "the many-requesters study in seconds",
    "soak": "a long run per transport: does memory grow?",
    "soak-tiny": "the soak study in seconds",
    "faults": (
        "push against pull: a responder killed or hung mid-run and uneven service times, with reqrep's "
        "retries and by themselves, on every path of the fault study: minutes"),
    "faults-tiny": "the fault studies in seconds",
    "brokers": (
        "healthy runs of the fault study's paths (zmq proxy, zmq balancing, native), paired per round: what "
        "the balancing broker costs against zmq.proxy, about a minute"),
    "brokers-tiny": "the brokers study in seconds",
    "local": (
        "loopback TCP against local sockets (`--local`) on each transport, 5 requesters in lockstep and 5 "
        "responders, paired per round: minutes"),
    "local-tiny": "the local study in seconds",
    "delay": "0 and 2 ms of network delay between the requesters, the broker or server and the responders",
    "delay-tiny": "the delay study in seconds",
    "ndarray": (
        "NumPy arrays of 1 KiB to 8 MiB on every path that carries them, zero-copy sends on and off, and "
        "where each round trip's time goes"),
    "ndarray-tiny": "the ndarray study in seconds",
    "peers": (
        "reqrep's transports, broker and one-hop shapes, beside the Python alternatives (gRPC, HTTP/1.1, "
        "Pyro5, rpyc, multiprocessing.connection, zerorpc: the extra `peers`), paired per round: minutes"),
    "peers-tiny": "the peers study in seconds",
}
