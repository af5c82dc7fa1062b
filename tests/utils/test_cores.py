import os

from metaopt.utils import usable_cores


def test_usable_cores_is_this_process_share():
    n = usable_cores()
    assert 1 <= n <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert n == len(os.sched_getaffinity(0))
