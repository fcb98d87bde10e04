"""A bounded window of (timestamp, value) points in two flat arrays of doubles.

What a ``deque(maxlen=n)`` of tuples does for the trend detectors, at a fraction of the memory
(a deque costs 760 bytes empty and each point tuple about 100 more; here a point is 16 bytes),
which matters once there is one window per detector per patient.

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
    __slots__ = ("maxlen", "times", "values")

    def __init__(self, maxlen: int = 16) -> None:
        self.maxlen = maxlen
        self.times = array("d")
        self.values = array("d")

    def append(self, point: tuple[float, float]) -> None:
        if len(self.times) >= self.maxlen:
            del self.times[0]
            del self.values[0]
        self.times.append(point[0])
        self.values.append(point[1])

    def popleft(self) -> tuple[float, float]:
        point = (self.times[0], self.values[0])
        del self.times[0]
        del self.values[0]
        return point

    def __getitem__(self, index: int) -> tuple[float, float]:
        return self.times[index], self.values[index]

    def __len__(self) -> int:
        return len(self.times)

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return zip(self.times, self.values, strict=True)


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
