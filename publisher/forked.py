"""Work done in a forked child while this process goes on, its result asked for later.

The child sees this process as it was at the fork (a loaded workspace, its views) and sends
back only its result, pickled. Whatever goes wrong there (an exception, a result that does
not pickle, a child killed) costs only time: the work is then done here, when asked for, so
it raises here as it always would."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Forked(Generic[T]):
    def __init__(self, work: Callable[[], T], fork: bool) -> None:
        self.work = work
        self.done = False
        self.value: T | None = None
        self.child = 0
        self.pipe = -1
        if fork:
            self._start()

    def _start(self) -> None:
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked process
            try:
                os.close(read)
                data = pickle.dumps(self.work(), pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
            finally:
                os._exit(0)  # no atexit handler, no buffered output of the parent's
        os.close(write)
        self.child, self.pipe = child, read

    def result(self) -> T:
        """The work's result: the child's, else (no child, or it failed) done here now."""
        if not self.done:
            found = self._from_child()
            self.value = found[0] if found else self.work()
            self.done = True
        return self.value  # type: ignore[return-value]  # done: set above

    def _from_child(self) -> tuple[T] | None:
        if not self.child:
            return None
        try:
            with os.fdopen(self.pipe, "rb") as pipe:
                data = pipe.read()
        finally:
            os.waitpid(self.child, 0)
            self.child = 0
        try:
            return (pickle.loads(data),) if data else None
        except Exception:
            return None
