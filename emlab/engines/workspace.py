"""What the engines share: chunks on every core, in scratch arrays kept for a whole fit.

* :func:`map_chunks` runs a function over the chunks of a pass on up to ``N_THREADS``
  threads (numpy releases the GIL inside each array operation), the results in chunk
  order so that a fit gives the same numbers, bit for bit, every time;
* :class:`Workspace` holds a thread's scratch arrays for the whole fit, and
  :func:`aligned_empty` makes arrays that begin on a cache line (``ALIGN``);
* :func:`one_blas_thread` keeps BLAS to one thread per worker while chunks run in parallel;
* :func:`engine_result` is an engine's :class:`emlab.em.EMResult`.

The engines (:mod:`emlab.engines.gmm`, :mod:`emlab.engines.kmeans`,
:mod:`emlab.engines.coins`) sit on this module; it imports nothing of theirs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import math
import os

import numpy as np

from emlab.em import EMResult, History

__all__ = [
    "ALIGN",
    "CHUNK_VALUES",
    "N_THREADS",
    "Workspace",
    "aligned_empty",
    "engine_result",
    "make_workspaces",
    "map_chunks",
    "one_blas_thread",
]

#: Working-set size per chunk, in float64 values (about 2 MB: fits in a core's L2 cache).
CHUNK_VALUES = 2**18
#: Scratch arrays and cached features start on a multiple of this many bytes: a cache line,
#: and one AVX-512 vector. numpy's arrays start wherever ``malloc`` puts them, at any
#: multiple of 16 bytes (which one depends on the allocator's state), and off a boundary
#: every vector the SIMD loops load straddles two cache lines: a 1-D E-step on a
#: 16,704-point chunk took 73-78 us on such arrays against 64-67 us on aligned ones
#: (measured, interleaved).
ALIGN = 64


def aligned_empty(shape, dtype=float):
    """``np.empty(shape, dtype)`` whose data begin on a multiple of ``ALIGN`` bytes."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) if isinstance(shape, tuple) else int(shape)
    buffer = np.empty(size + ALIGN // dtype.itemsize, dtype=dtype)
    start = (-buffer.__array_interface__["data"][0] % ALIGN) // dtype.itemsize
    return buffer[start : start + size].reshape(shape)


def engine_result(history: History, converged: bool) -> EMResult:
    """An engine's :class:`EMResult`: the last snapshot's parameters, no responsibilities."""
    return EMResult(
        params=history[-1].params,
        resp=None,
        log_likelihood=history[-1].log_likelihood,
        n_iter=len(history) - 1,
        converged=converged,
        history=history,
    )


# ---------------------------------------------------------------------------
# Chunks on every core


#: Worker threads for the chunks (numpy releases the GIL inside each array operation).
N_THREADS = max(1, min(4, os.cpu_count() or 1))


@functools.lru_cache(maxsize=1)
def _executor():
    return concurrent.futures.ThreadPoolExecutor(
        max(1, N_THREADS - 1), thread_name_prefix="emlab-fast"
    )


class Workspace:
    """Scratch arrays that live for a whole fit: a chunk's temporaries without an allocation.

    A fresh array of a few hundred kilobytes per chunk is memory the operating system
    has to hand over page by page, again and again as the allocator returns it; the
    page faults were measured to make a chunk's steps 2-5 times slower than the same
    steps on reused arrays. Each worker thread has its own workspace. Its arrays begin on
    a cache line (``ALIGN``), and so does every row of a (rows, c) array when c is a
    multiple of 8, as the chunk sizes are.
    """

    def __init__(self):
        self._flat = {}
        self._views = {}

    def array(self, name, shape, dtype=float):
        """A C-contiguous scratch array of ``shape`` (float64 by default), the same memory on every call."""
        view = self._views.get((name, shape))
        if view is not None:
            return view
        size = math.prod(shape)
        flat = self._flat.get(name)
        if flat is None or flat.size < size or flat.dtype != dtype:
            flat = self._flat[name] = aligned_empty(size, dtype)
            self._views = {key: v for key, v in self._views.items() if key[0] != name}
        view = self._views[name, shape] = flat[:size].reshape(shape)
        return view


def map_chunks(function, starts, workspaces, threads=None, backwards=False):
    """``[function(start, workspace) for start in starts]``, spread over ``threads`` threads.

    Thread ``i`` takes every ``threads``-th chunk and works in ``workspaces[i]``
    (a list of ``N_THREADS`` :class:`Workspace`); the calling thread is thread 0, so
    only ``threads - 1`` pool threads need waking. ``threads`` is at most (and by
    default) ``N_THREADS``. The results come back in chunk order, so sums over them do
    not depend on the threads' timing: a fit gives the same numbers, bit for bit,
    every time.

    ``backwards`` has each thread take its chunks in the opposite order. Passes that
    alternate find the chunks they took last still in cache: data a few times the
    size of the cache, taken in the same order every pass, are each evicted just
    before they are needed again (1-D, 100,000 points: 12% less time per iteration).
    The results, still in chunk order, are the same either way.
    """
    threads = N_THREADS if threads is None else max(1, min(threads, N_THREADS))
    if threads == 1 or len(starts) < 2:
        if not backwards:
            return [function(start, workspaces[0]) for start in starts]
        return [function(start, workspaces[0]) for start in reversed(starts)][::-1]
    groups = [starts[i::threads] for i in range(threads)]
    if backwards:
        groups = [group[::-1] for group in groups]

    def run(group, workspace):
        return [function(start, workspace) for start in group]

    # the calling thread takes the first group itself: one thread fewer to wake
    jobs = zip(groups[1:], workspaces[1:threads], strict=True)
    others = [_executor().submit(run, group, workspace) for group, workspace in jobs]
    done = [run(groups[0], workspaces[0])] + [future.result() for future in others]
    by_start = {
        start: result
        for group, results in zip(groups, done, strict=True)
        for start, result in zip(group, results, strict=True)
    }
    return [by_start[start] for start in starts]


def make_workspaces():
    """One :class:`Workspace` per worker thread."""
    return [Workspace() for _ in range(N_THREADS)]


@contextlib.contextmanager
def one_blas_thread(n_chunks):
    """One BLAS thread per worker while the chunks run in parallel (no oversubscription)."""
    if N_THREADS == 1 or n_chunks < 2:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
