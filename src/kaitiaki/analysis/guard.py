"""Run the analysis of deeply nested SQL without exhausting Python's stack.

sqlglot's parser recurses about twenty frames per level of parentheses, so a query nested 60
deep already exceeds Python's default limit. Nesting is known before parsing (``parse``), so a
statement deeper than what the default stack holds runs in a worker thread with a large stack
and a recursion limit sized to its depth; the limit is restored afterwards. Deep statements run
one at a time (the recursion limit is process-wide). The configured ``max_depth`` still bounds
everything: deeper SQL never reaches this point.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

SHALLOW_DEPTH = 20
_FRAMES_PER_LEVEL = 100
_BASE_FRAMES = 5_000
_STACK_BYTES = 512 * 1024 * 1024
_DEEP = threading.Lock()
_QUIET: ContextVar[bool] = ContextVar("kaitiaki_quiet_sqlglot", default=False)


class _DropWhileAnalysing(logging.Filter):
    """sqlglot logs SQL text (which may quote literal values) on warnings; kaitiaki reports itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _QUIET.get()


_FILTER = _DropWhileAnalysing()
logging.getLogger("sqlglot").addFilter(_FILTER)


@contextmanager
def quiet_sqlglot() -> Iterator[None]:
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def run_with_depth(work: Callable[[], T], depth: int) -> T:
    """``work()``, on a big stack when ``depth`` needs one; exceptions propagate to the caller."""
    if depth <= SHALLOW_DEPTH:
        return work()
    frames = _BASE_FRAMES + depth * _FRAMES_PER_LEVEL
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        with quiet_sqlglot():
            try:
                values.append(work())
            except BaseException as exc:  # handed to the caller's thread below
                errors.append(exc)

    with _DEEP:
        previous_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous_limit, frames))
        previous_stack = threading.stack_size(_STACK_BYTES)
        try:
            worker = threading.Thread(target=target, name="kaitiaki-deep-sql", daemon=True)
            worker.start()
        finally:
            threading.stack_size(previous_stack)
        worker.join()
        sys.setrecursionlimit(previous_limit)
    if errors:
        raise errors[0]
    return values[0]
