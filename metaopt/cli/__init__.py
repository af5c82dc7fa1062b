"""The ``metaopt`` command line.

Each subcommand lives in its own ``_<name>.py`` module exposing
``register(subparsers)``, which adds its parser and sets ``func`` to a handler
``handler(args) -> int``. Errors derived from :class:`MetaoptError` (and a few
plain I/O errors) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import functools
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from metaopt.core import __version__
from metaopt.exceptions import MetaoptError

# Subcommand modules, in the order they appear in --help.
_COMMAND_MODULES = ("metaopt.cli._features", "metaopt.cli._kb", "metaopt.cli._recommend",
                    "metaopt.cli._tune", "metaopt.cli._benchmark")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no abbreviated options: ``--study sqlite:///t.db`` would silently be ``--study-name`` (an in-memory
        # study named like a URL) instead of an error naming the unknown option
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"metaopt: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="metaopt", description="Meta-learned warm starts for hyperparameter optimisation.")
    parser.add_argument("--version", action="version", version=f"metaopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _interrupt_again(unraisable: Any, others: Callable[[Any], None] = sys.__unraisablehook__) -> None:
    """A Ctrl-C that arrived inside a finalizer (e.g. LightGBM's ``Dataset.__del__``), where Python can only
    print it as "Exception ignored" with a traceback: delivered again, silently, to the code that runs next.

    From another thread: ``interrupt_main`` called here would raise inside this hook, which Python prints
    too.  Should it land in a finalizer again, it comes back here and is sent once more."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        again = threading.Timer(0.01, _thread.interrupt_main)
        again.daemon = True
        again.start()
        return
    others(unraisable)


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[list[str]]:
    """The block's ``UserWarning`` messages (metaopt's), each printed once after it as one
    ``metaopt: warning: ...`` line on stderr, and left in the yielded list (``--json`` repeats them); other
    libraries' numeric noise (``RuntimeWarning``) is dropped."""
    import warnings

    said: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield said
    said += dict.fromkeys(" ".join(str(w.message).split()) for w in caught if issubclass(w.category, UserWarning))
    for msg in said:
        print(f"metaopt: warning: {msg}", file=sys.stderr)


@contextlib.contextmanager
def ctrl_c_in_finalizers_interrupts() -> Iterator[None]:
    """:func:`_interrupt_again` as ``sys.unraisablehook`` for the command (and the workers it forks); the
    hook before it still gets every other unraisable exception."""
    previous = sys.unraisablehook
    sys.unraisablehook = functools.partial(_interrupt_again, others=previous)
    try:
        yield
    finally:
        sys.unraisablehook = previous


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``metaopt`` console script."""
    from metaopt.utils import process_started_at

    # the command's clock (``tune --timeout``): from the process's start when this is the command line itself,
    # so the budget covers the imports too; from now when called in-process with arguments (e.g. a test)
    started_at = process_started_at() if argv is None else time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started_at = started_at
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with ctrl_c_in_finalizers_interrupts():
            return int(args.func(args) or 0)
    except MetaoptError as exc:
        print(f"metaopt: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"metaopt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("metaopt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
