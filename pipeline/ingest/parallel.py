"""Validating a file's chunks on worker threads while the loading thread reads and stages them.

Reading, redaction, parsing and the pandera contract of a chunk take a few tenths of a second each, and much of
that time is spent where the GIL is released (pyarrow's CSV reader and compute functions, RE2, pandas' Arrow-backed
string methods, DuckDB's inserts). A file of at least ``PARALLEL_MIN_BYTES`` has its chunks validated on
``warehouse.validate_workers`` threads (0, the default: one per core, at most ``MAX_WORKERS``), so the loading
thread reads the next chunk and stages the last one meanwhile. Results come back in the file's order and equal what
:func:`validate_chunk` returns for the same chunk in the loading thread; chunks are cut at the same rows whatever the
number of workers, so the rows staged, quarantined and counted do not depend on it
(tests/test_parallel_validate.py). At most ``workers + 1`` chunks wait for or go through validation while the loading
thread stages one more (its caller drops each chunk before asking for the next): memory grows with the number of
workers, not with the file.

Threads, not processes: worker processes measured no faster on 2 cores (1M interactions: the text sent to them and
the typed rows sent back cost the loading process about as much CPU as they saved); on threads, reading, validating
and staging 1M interactions took 5.7-6.7 s against 9.3-9.6 s on one (docs/BENCHMARKS.md, "seventh session: P1").
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..config import Config
from . import read
from .read import FileSpec
from .validate import Validated, validate_chunk

MAX_WORKERS = 4
PARALLEL_MIN_BYTES = 16 << 20  # smaller files are validated on the loading thread (a second or less of work)


@dataclass
class Timed:
    """A chunk's validation, with the loading thread's seconds reading it and waiting for its result."""

    validated: Validated
    read_seconds: float
    wait_seconds: float


def worker_count(config: Config) -> int:
    configured = config.warehouse.validate_workers
    return configured if configured else min(_cores(), MAX_WORKERS)


def _cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset), else the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def validated_chunks(spec: FileSpec, config: Config, key: bytes | None) -> Iterator[Timed]:
    """Each chunk (``read.CHUNK_ROWS`` records) of the file validated, in the file's order."""
    workers = worker_count(config)
    chunks = read.iter_chunks(spec, read.CHUNK_ROWS)
    if workers > 1 and spec.path.stat().st_size >= PARALLEL_MIN_BYTES:
        yield from _on_workers(spec, chunks, config, key, workers)
        return
    while True:
        t = time.perf_counter()
        chunk = next(chunks, None)
        reading = time.perf_counter() - t
        if chunk is None:
            return
        t = time.perf_counter()
        timed = Timed(validate_chunk(spec, chunk, config, key), reading, time.perf_counter() - t)  # args in order
        del chunk
        yield timed
        del timed  # the caller's copy is the only one while the next chunk is read


def _on_workers(spec: FileSpec, chunks, config: Config, key: bytes | None, workers: int) -> Iterator[Timed]:
    futures: deque = deque()
    reading = 0.0
    done_reading = False
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="csqa-validate") as pool:
        try:
            while futures or not done_reading:
                if not done_reading and len(futures) <= workers:
                    t = time.perf_counter()
                    chunk = next(chunks, None)
                    reading += time.perf_counter() - t
                    if chunk is None:
                        done_reading = True
                    else:
                        futures.append(pool.submit(validate_chunk, spec, chunk, config, key))
                        del chunk
                    continue
                t = time.perf_counter()
                # yielded, not kept in a name: the caller's copy is the only one while the next chunk is read
                yield Timed(futures.popleft().result(), reading, time.perf_counter() - t)
                reading = 0.0
        finally:  # an error (a bad file, the caller's): the queued chunks are dropped, the running ones finish
            for f in futures:
                f.cancel()
