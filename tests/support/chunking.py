"""How the corpus tests cut an input into the reads a parser is fed
(gunicorn's treq senders, h11's t_body_reader): shared by the FastCGI and
HTTP corpora. A chunking is a sorted list of cut offsets."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def split_points(n: int, anchors: Iterable[int], big: int, most: int) -> list[int]:
    """Every 2-way split point of an ``n``-byte input; past ``big`` bytes about
    ``most`` of them: each anchor (a record or line boundary) and its
    neighbours, and the rest spread evenly."""
    if n <= big:
        return list(range(1, n))
    near = {a + d for a in anchors for d in (-1, 0, 1)}
    spread = max(1, most - len(near))
    points = near | {1 + i * (n - 2) // spread for i in range(spread + 1)}
    return sorted(p for p in points if 0 < p < n)


def chunkings(
    feeder: str,
    n: int,
    natural: list[int],
    splits: Callable[[], list[int]],
    random_cuts: Callable[[int], list[int]],
) -> list[list[int]]:
    """The cut sets ``feeder`` feeds with: ``whole``, ``bytewise``, ``per-*``
    (the input's ``natural`` boundaries: records, lines), ``split2`` (each of
    ``splits()`` alone) or ``random-SEED``."""
    if feeder == "whole":
        return [[]]
    if feeder == "bytewise":
        return [list(range(1, n))]
    if feeder.startswith("per-"):
        return [natural]
    if feeder == "split2":
        return [[p] for p in splits()]
    return [random_cuts(int(feeder.removeprefix("random-")))]
