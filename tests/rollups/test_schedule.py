"""Which project a worker serves next: every project waiting gets its turn."""

from __future__ import annotations

import itertools

from monitor.rollups.schedule import _rotated


def test_each_queue_gives_every_waiting_project_a_turn_whatever_the_other_queues_do():
    # A round asks the live, history and compaction queues in turn; two backfilling
    # projects must alternate at the front of the history queue.
    firsts = []
    for _ in range(6):
        _rotated([7], "live")
        firsts.append(_rotated([1, 2], "history")[0])
        _rotated([1, 2], "compact")
    assert sorted(firsts) == [1, 1, 1, 2, 2, 2]
    assert all(a != b for a, b in itertools.pairwise(firsts))
