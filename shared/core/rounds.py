"""Rounds: a measurement repeated, so that its figures come with their spread; `--requests` is split over
them. Variants alternate round by round, so that a drift of the machine touches every variant alike."""

from __future__ import annotations

from collections.abc import Callable

from shared.core.config import RunConfig
from shared.core.errors import UsageError
from shared.core.results import RunResult

DEFAULT_ROUNDS = 3  # the hello example runs once: a demonstration, not a measure


def rounds_for(rounds: int | None, config: RunConfig) -> int:
    """--rounds, checked, or DEFAULT_ROUNDS (fewer if the requests do not give each requester one a round)."""
    if rounds is None:
        return 1 if config.example == "hello" else max(1, min(DEFAULT_ROUNDS, config.requests // config.requesters))
    check_rounds(rounds)
    smallest = config.requests // rounds
    if smallest < config.requesters:
        raise UsageError(f"--requests {config.requests:,} over --rounds {rounds} leaves {smallest:,} requests in a "
                         f"round, fewer than --requesters ({config.requesters}): give more requests or fewer rounds")
    return rounds


def check_rounds(rounds: int) -> int:
    if rounds < 1:
        raise UsageError(f"--rounds must be 1 or more, not {rounds}")
    return rounds


def split(config: RunConfig, rounds: int) -> list[RunConfig]:
    """Each round's configuration: its share of the requests, the first rounds taking the remainder."""
    base, extra = divmod(config.requests, rounds)
    return [config.with_(requests=base + (1 if number < extra else 0)) for number in range(rounds)]


RunRound = Callable[[RunConfig, int, int], RunResult]  # (the round's configuration, its number, of how many)


def alternate(configs: list[RunConfig], rounds: int, run_round: RunRound,
              results: list[list[RunResult]] | None = None) -> list[list[RunResult]]:
    """Every variant's rounds, round 1 of each first, into `results`; a round that failed ends them."""
    plans = [split(config, rounds) for config in configs]
    results = results if results is not None else [[] for _ in configs]
    for number in range(rounds):
        for plan, done in zip(plans, results, strict=True):
            done.append(run_round(plan[number], number + 1, rounds))
            if not done[-1].succeeded:
                return results
    return results
