"""Where the draws run: in this process, on a local process pool (one HiGHS thread per
worker), or on any `concurrent.futures.Executor`, such as a Dask cluster's
(`dask_executor`). Draws go out in batches and come back in their order, so the result
does not depend on who solved what."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from cxplan.errors import UsageError

T = TypeVar("T")
# Draws per batch, the same whatever runs them: a draw's solve starts from the optima found
# earlier in its batch, and where two plans are optimal (within the gap) the start decides
# which one HiGHS returns, so batches that depended on the workers would change results.
BATCH = 8


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def map_batches(executor: Executor | None, function: Callable[..., T],
                batches: Sequence[Any], *args: Any) -> list[T]:
    """`function(batch, *args)` for every batch, in order (here when `executor` is None);
    on an error or an interrupt the batches not started are cancelled."""
    if executor is None:
        return [function(batch, *args) for batch in batches]
    futures: list[Future[T]] = [executor.submit(function, batch, *args) for batch in batches]
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[Executor | None]:
    """A pool of `workers` fresh processes (none for one worker: this process solves)."""
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Fresh interpreters, not forks: HiGHS keeps threads, which a fork does not carry over.
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def dask_executor(address: str, wait: float = 20.0) -> Iterator[tuple[Executor, int]]:
    """The executor of the Dask cluster whose scheduler is at `address`
    (`tcp://HOST:8786`), and how many threads its workers have; needs `pip install
    cxplan[dask]` here and cxplan on the workers. `wait`: seconds to wait for the
    scheduler to answer."""
    try:
        import distributed
    except ImportError as exc:
        raise UsageError("--scheduler needs Dask: pip install 'cxplan[dask]'") from exc
    try:
        connect: Any = distributed.Client  # untyped: strict mypy would refuse its calls
        client = connect(address, timeout=f"{wait:g}s")
    except OSError as exc:
        raise UsageError(f"no Dask scheduler answered at {address}: {exc}") from exc
    try:
        threads = sum(client.nthreads().values())
        if not threads:
            raise UsageError(f"the Dask scheduler at {address} has no workers: start some "
                             f"with `dask worker {address}`")
        yield client.get_executor(), threads
    finally:
        client.close()
