"""Ctrl-C inside a finalizer: Python can only print it ("Exception ignored in ... Traceback"); the CLI
delivers it again instead (seen in CI: SIGINT inside LightGBM's ``Dataset.__del__`` in a tune worker)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from metaopt.cli import ctrl_c_in_finalizers_interrupts

    # Ctrl-C as in a terminal: a test run started in the background (CI) gives its processes SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)

    class Finalizer:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000):  # the KeyboardInterrupt is raised here, inside the finalizer
                pass

    def run():
        try:
            Finalizer()  # dropped at once
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:  # the code that runs next: a few seconds of it
                time.sleep(0.001)
            print("not interrupted")
        except KeyboardInterrupt:
            print("interrupted after the finalizer")

    class Broken:
        def __del__(self):
            raise ValueError("any other error in a finalizer is still shown")

    if sys.argv[1] == "cli":
        with ctrl_c_in_finalizers_interrupts():
            run()
            Broken()
        assert sys.unraisablehook is sys.__unraisablehook__  # restored
    else:
        run()
""")


def _run(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60)


def test_a_ctrl_c_inside_a_finalizer_is_delivered_again_without_a_traceback():
    plain = _run("plain")  # what Python does on its own: a traceback, and the Ctrl-C is lost
    assert "Exception ignored" in plain.stderr and "Traceback" in plain.stderr
    assert plain.stdout.strip() == "not interrupted"
    cli = _run("cli")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == "interrupted after the finalizer"
    assert "KeyboardInterrupt" not in cli.stderr and "is still shown" in cli.stderr
