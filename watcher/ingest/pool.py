"""Parse feed bodies off the event loop: in a pool of worker processes, one per core, or in a thread."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from watcher.ingest.parse import Parser, ParseResult, parse_entries

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Workers fork from a server process that imported the parser once, so a pool starts in milliseconds
# and its workers share that memory; forking the daemon itself (threads, sockets, database
# connections) is unsafe.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["watcher.ingest.parse"])


# A body that has not parsed this many seconds after a worker took it is given up: its worker is
# killed and the pool replaced, so that no body holds a worker for longer. Every parsing path is linear in its
# input (bench/hostile_text.py: a megabyte of hostile markup in under a second), so only a new defect or a
# library's own worst case reaches it.
PARSE_TIME_LIMIT_S = 60.0


class WorkerTimeout(Exception):
    """A call to the pool ran past its time limit; its pool was killed and replaced."""


class WorkerDied(Exception):
    """A call's worker process died, and died again on a new pool."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestSettings:
    """How feed bodies are parsed. ``parse_workers``: worker processes; None = one per CPU; 0 = a thread.

    ``parser``: ``"fast"`` (the default) reads plain, well-formed RSS 2.0 and Atom 1.0 with lxml (the
    same records as feedparser: ``bench/parse_diff.py`` finds no difference on feedparser's own test
    corpus) and every other body with feedparser; ``"feedparser"`` reads every body with it.
    """

    parse_workers: int | None = None
    parser: Parser = "fast"

    def workers(self) -> int:
        """The number of worker processes to use (0: parse in a thread)."""
        if self.parse_workers is None:
            return os.cpu_count() or 1
        return self.parse_workers


class ParsePool:
    """Runs ``parse_entries`` (and, through :meth:`run`, any picklable call: article pages are extracted in
    a pool of their own) for the event loop without blocking it.

    With ``workers`` > 0 the bodies go to that many worker processes, started on the first parse and
    stopped by :meth:`close`; the results come back as plain records (pickled ``ParseResult``). With
    0 they are parsed in a thread, sharing the core of the event loop. A worker that dies (a
    parser crash, the OOM killer) takes its pool with it: the pool is replaced and the body parsed
    once more; a body that kills a second pool yields a ParseResult whose only warning says so, as
    does one that has not parsed ``time_limit_s`` after a worker took it (its pool is killed and replaced).
    """

    def __init__(
        self, workers: int, *, parser: Parser = "fast", time_limit_s: float = PARSE_TIME_LIMIT_S
    ) -> None:
        """:param time_limit_s: seconds after which a body a worker took is given up (its
        pool is killed and replaced; a ParseResult whose only warning says so); a thread has no limit."""
        if workers < 0:
            raise ValueError("workers must be 0 or more")
        self.workers = workers
        self.parser = parser
        self.time_limit_s = time_limit_s
        self._executor: ProcessPoolExecutor | None = None
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._closes = 0  # how many times close() ended a pool: its calls in flight are not run again

    async def parse(
        self,
        body: bytes,
        url: str,
        *,
        content_type: str | None = None,
        feed_language: str | None = None,
        now: datetime | None = None,
    ) -> ParseResult:
        """``parse_entries`` with the same arguments, run in a worker process or a thread."""
        try:
            return await self.run(
                parse_entries,
                body,
                url,
                content_type=content_type,
                feed_language=feed_language,
                now=now,
                parser=self.parser,
            )
        except WorkerTimeout:
            return ParseResult(warnings=[f"parsing took over {self.time_limit_s:g} s; the body was given up"])
        except WorkerDied:
            return ParseResult(warnings=["the parser process died on this body"])

    async def run(
        self, fn: Callable[..., T], /, *args: Any, time_limit_s: float | None = None, **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)`` in a worker process (``fn`` and its arguments picklable), or in a thread
        with 0 workers; what it raises is raised here.

        :param time_limit_s: seconds after which the call is given up; None: the pool's ``time_limit_s``.
        :raises WorkerTimeout: the call ran past the limit (its pool was killed and replaced).
        :raises WorkerDied: its worker died twice, on two pools, or :meth:`close` ended it.
        """
        call = functools.partial(fn, *args, **kwargs)
        if self.workers == 0:
            return await asyncio.to_thread(call)
        limit = self.time_limit_s if time_limit_s is None else time_limit_s
        loop = asyncio.get_running_loop()
        slots = self._slots_of(loop)
        for attempt in (1, 2):
            # At most one call per worker is handed over, so that the limit counts a call's own time, not its
            # wait behind others. The slot comes back when the worker is done with the call, which may be after
            # its caller was cancelled.
            await slots.acquire()
            executor, closes = self._pool(), self._closes
            try:
                submitted = executor.submit(call)
            except (BrokenProcessPool, OSError):
                # Broken by another call, not yet replaced; or its workers died and it is being torn down while
                # it starts new ones (handing them the pipes it is closing fails: EBADF).
                slots.release()
                self._discard(executor)
                continue
            except BaseException:
                slots.release()
                raise
            submitted.add_done_callback(functools.partial(_release_in, loop, slots))
            future = asyncio.wrap_future(submitted, loop=loop)
            try:
                done, _ = await asyncio.wait((future,), timeout=limit)
            except asyncio.CancelledError:
                # Not waited for, but still bounded: a running call cannot be cancelled, so its pool is killed if
                # the call outlives its limit.
                if not submitted.cancel():
                    loop.call_later(limit, self._expire, executor, submitted)
                raise
            if not done:
                # A running call cannot be cancelled: end its workers (the others' calls in flight fail
                # with BrokenProcessPool and are run again on the new pool).
                if self._discard(executor, kill=True):
                    logger.warning("a call to %s took over %g s; its pool is replaced", _name(fn), limit)
                raise WorkerTimeout(f"took over {limit:g} s")
            if self._closes != closes:  # close() cancelled the call or killed its worker: not run again
                raise WorkerDied("the pool was closed")
            try:
                return future.result()
            except BrokenProcessPool:
                if self._discard(executor):
                    logger.warning("a worker process died; its pool is replaced (attempt %d)", attempt)
        raise WorkerDied("the worker process died twice")

    def close(self, grace_s: float = 10.0) -> None:
        """Stop the worker processes: calls not started are cancelled, and a worker still running a call
        ``grace_s`` later is killed. A later call starts new ones."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        self._closes += 1
        processes = _processes(executor).values()
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace_s
        for process in processes:
            process.join(max(deadline - time.monotonic(), 0.0))
            if process.is_alive():
                process.kill()
                process.join(1.0)

    def pids(self) -> list[int]:
        """The worker processes' ids (for measurements)."""
        return sorted(_processes(self._executor))

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_CONTEXT,
                initializer=_exit_with,
                initargs=(os.getpid(),),
            )
        return self._executor

    def _slots_of(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.workers))
        return self._slots[1]

    def _expire(self, executor: ProcessPoolExecutor, submitted: Future[Any]) -> None:
        if not submitted.done() and self._discard(executor, kill=True):
            logger.warning("a cancelled call outlived its time limit; its pool is replaced")

    def _discard(self, executor: ProcessPoolExecutor, *, kill: bool = False) -> bool:
        # Every parse in flight on a broken pool fails at once: only the first replaces it.
        if self._executor is not executor:
            return False
        self._executor = None
        if kill:
            for process in _processes(executor).values():
                process.kill()
            # Not cancelled: the pool, broken by the kill, fails its other parses with BrokenProcessPool, and
            # they are parsed again on the new pool.
            executor.shutdown(wait=False)
        else:
            executor.shutdown(wait=False, cancel_futures=True)
        return True


def _processes(executor: ProcessPoolExecutor | None) -> dict[int, multiprocessing.process.BaseProcess]:
    """The pool's worker processes by pid (ProcessPoolExecutor keeps them privately), as they are now."""
    return dict(getattr(executor, "_processes", None) or {})


def _release_in(loop: asyncio.AbstractEventLoop, slots: asyncio.Semaphore, _: Future[Any]) -> None:
    """A done callback (on the pool's own thread): give the call's slot back in its event loop."""
    try:
        loop.call_soon_threadsafe(slots.release)
    except RuntimeError:  # the loop is closed: nothing waits on it any more
        pass


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _exit_with(owner: int) -> None:
    """Worker initializer: end this worker as soon as the process that owns the pool ends.

    A worker outlives a killed owner otherwise (kill -9, the OOM killer): it waits on a queue whose
    writing end it holds itself, and keeps the forkserver and the owner's stdout open.
    """
    threading.Thread(target=_wait_for_exit, args=(owner,), name="watch-owner", daemon=True).start()


def _wait_for_exit(owner: int) -> None:
    try:
        handle = os.pidfd_open(owner)  # readable once the owner has exited
    except (AttributeError, OSError):
        while _alive(owner):  # no pidfd (old kernel, owner already gone): poll
            time.sleep(1.0)
    else:
        select.select([handle], [], [])
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
