"""Run one function over many items on a thread pool, in order, with a progress bar.

Threads suit the project's per-image work (TIFF decoding and numpy slicing release the GIL); results come back in
the order of `items` so that what is written from them does not depend on the thread count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from tqdm import tqdm

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(
    work: Callable[[Item], Result], items: Sequence[Item], threads: int, desc: str, unit: str = "image"
) -> list[Result]:
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(tqdm(pool.map(work, items), total=len(items), desc=desc, unit=unit, leave=False))
