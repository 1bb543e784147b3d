"""Scalar quantizers as data: levels and thresholds (theory.md §2.4).

A :class:`ScalarCodebook` with K levels a_1 < … < a_K and thresholds t_1 < … < t_(K−1) maps x to
a_i on the cell (t_(i−1), t_i], with t_0 = −∞ and t_K = +∞. All designs in quantmm are regular
(interval cells, increasing levels) and, for the symmetric laws they are designed for, symmetric
about 0: a_i = −a_(K+1−i) and t_i = −t_(K−i).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mpmath

__all__ = ["ScalarCodebook"]


@dataclass(frozen=True)
class ScalarCodebook:
    """A regular scalar quantizer: ``levels`` (K, increasing) and ``thresholds`` (K − 1,
    increasing, each strictly between the levels it separates). ``design`` names its origin.

    >>> book = ScalarCodebook((mpmath.mpf(-1), mpmath.mpf(1)), (mpmath.mpf(0),), "example")
    >>> book.size, book.quantize(mpmath.mpf("0.3"))
    (2, mpf('1.0'))
    """

    levels: tuple[mpmath.mpf, ...]
    thresholds: tuple[mpmath.mpf, ...]
    design: str = ""

    def __post_init__(self) -> None:
        levels, thresholds = self.levels, self.thresholds
        if len(levels) < 1:
            raise ValueError("levels must hold at least one level")
        if len(thresholds) != len(levels) - 1:
            raise ValueError(
                f"thresholds must hold len(levels) - 1 = {len(levels) - 1} values, "
                f"got {len(thresholds)}"
            )
        if not all(mpmath.isfinite(value) for value in (*levels, *thresholds)):
            raise ValueError("levels and thresholds must be finite")
        for i, threshold in enumerate(thresholds):
            if not levels[i] < threshold < levels[i + 1]:
                raise ValueError(
                    f"threshold {i} must lie strictly between levels {i} and {i + 1}, got "
                    f"{levels[i]} < {threshold} < {levels[i + 1]} false"
                )

    @property
    def size(self) -> int:
        """K, the number of levels."""
        return len(self.levels)

    def cells(self) -> Sequence[tuple[mpmath.mpf, mpmath.mpf]]:
        """The K cells as (left, right) end points, with ±inf at the ends."""
        edges = (mpmath.mpf("-inf"), *self.thresholds, mpmath.mpf("inf"))
        return [(edges[i], edges[i + 1]) for i in range(self.size)]

    def quantize(self, value: mpmath.mpf) -> mpmath.mpf:
        """Q(value): the level of the cell (t_(i−1), t_i] that holds ``value``."""
        for level, threshold in zip(self.levels, self.thresholds, strict=False):
            if value <= threshold:
                return level
        return self.levels[-1]
