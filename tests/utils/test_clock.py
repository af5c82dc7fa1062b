import subprocess
import sys
import time

import pytest

from metaopt.utils import process_started_at

#: a process that waits before asking when it started
_AGE_AFTER_SLEEP = ("import time; time.sleep({s}); from metaopt.utils import process_started_at; "
                    "print(time.monotonic() - process_started_at())")


def test_this_process_started_before_now():
    assert process_started_at() <= time.monotonic()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the start time is read from /proc (Linux)")
def test_the_start_is_the_process_start_not_the_call():
    out = subprocess.run([sys.executable, "-c", _AGE_AFTER_SLEEP.format(s=1.0)], capture_output=True, text=True,
                         check=True).stdout
    assert float(out) >= 0.95  # /proc counts in clock ticks (10 ms)
