"""What only the native variant has: the server's board, whose reply queues must not outlive their
requesters, so that a long-running server does not grow with each run."""

from __future__ import annotations

from native_impl.requester import reply_key
from native_impl.server import Board


def test_reply_queues_go_with_their_requesters_and_stop_wakes_the_rest():
    board = Board()
    keys = [reply_key() for _ in range(3)]
    queues = [board.replies(key) for key in keys]
    board.reply(keys[0], (0, "hello"))
    assert queues[0].get_nowait() == (0, "hello")
    del queues[1:]  # what the manager does when the last proxy of each is released
    board.reply(keys[1], (0, "late"))  # for a requester that is gone: nobody keeps it
    assert len(board._replies) == 1
    board.stop(responders=2)
    assert queues[0].get_nowait() is None
    assert [board.requests().get_nowait() for _ in range(2)] == [None, None]
