"""Run one function over many items on a thread pool, in order, with a progress bar.

Threads suit the project's per-image work (TIFF decoding and numpy slicing release the GIL); results come back in
the order of `items` so that what is written from them does not depend on the thread count.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import TypeVar

from tqdm import tqdm

Item = TypeVar("Item")
Result = TypeVar("Result")
# Results a stream computes ahead of its consumer, per thread: enough to keep every thread busy, few enough that a
# stream of images never holds more than a handful of them.
AHEAD_PER_THREAD = 2


def ordered_stream(
    work: Callable[[Item], Result], items: Sequence[Item], threads: int, desc: str, unit: str = "image"
) -> Iterator[Result]:
    """`work(item)` for each item, yielded in order; at most a few results wait for the consumer at any time."""
    threads = max(1, threads)
    with (
        ThreadPoolExecutor(max_workers=threads) as pool,
        tqdm(total=len(items), desc=desc, unit=unit, leave=False) as bar,
    ):
        queue = iter(items)
        pending: deque[Future[Result]] = deque(
            pool.submit(work, item) for item in islice(queue, threads * AHEAD_PER_THREAD)
        )
        while pending:
            result = pending.popleft().result()
            pending.extend(pool.submit(work, item) for item in islice(queue, 1))
            bar.update(1)
            yield result


def ordered_map(
    work: Callable[[Item], Result], items: Sequence[Item], threads: int, desc: str, unit: str = "image"
) -> list[Result]:
    return list(ordered_stream(work, items, threads, desc, unit))
