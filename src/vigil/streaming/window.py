"""A bounded window of (timestamp, value) points in one flat array of doubles.

What a ``deque(maxlen=n)`` of tuples does for the trend detectors, at a fraction of the memory
(a deque costs 760 bytes empty and each point tuple about 100 more; here a point is 16 bytes,
and the window one array: 64 bytes empty), which matters once there is one window per detector
per patient.

>>> w = Window(maxlen=2)
>>> for p in [(1.0, 80.0), (2.0, 81.0), (3.0, 82.0)]:
...     w.append(p)
>>> list(w), w[-1], len(w)
([(2.0, 81.0), (3.0, 82.0)], (3.0, 82.0), 2)
>>> w.popleft(), list(w)
((2.0, 81.0), [(3.0, 82.0)])
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator


class Window:
    """Points interleaved in one array (time, value, time, value, ...): one array header per
    window, not two."""

    __slots__ = ("maxlen", "points")

    def __init__(self, maxlen: int = 16) -> None:
        self.maxlen = maxlen
        self.points = array("d")

    def append(self, point: tuple[float, float]) -> None:
        if len(self.points) >= 2 * self.maxlen:
            del self.points[:2]
        self.points.extend(point)

    def popleft(self) -> tuple[float, float]:
        point = (self.points[0], self.points[1])
        del self.points[:2]
        return point

    def __getitem__(self, index: int) -> tuple[float, float]:
        if index < 0:
            index += len(self.points) // 2
        if not 0 <= index < len(self.points) // 2:
            raise IndexError("window index out of range")
        return self.points[2 * index], self.points[2 * index + 1]

    def __len__(self) -> int:
        return len(self.points) // 2

    def __iter__(self) -> Iterator[tuple[float, float]]:
        points = self.points
        return zip(points[::2], points[1::2], strict=True)


def slope(pts: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (time, value) points; None with fewer than two distinct times."""
    if len(pts) < 2:
        return None
    mean_t = sum(t for t, _ in pts) / len(pts)
    mean_v = sum(v for _, v in pts) / len(pts)
    var_t = sum((t - mean_t) ** 2 for t, _ in pts)
    if var_t == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in pts) / var_t
