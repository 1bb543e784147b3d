"""Distance in units in the last place between float64 values (a tiny helper for the tests).

The conformance harness will define the official one later; this is the same idea kept small.
"""

from __future__ import annotations

import numpy as np

_MAGNITUDE = np.int64(0x7FFFFFFFFFFFFFFF)


def _ordinal(x: np.ndarray) -> np.ndarray:
    """Map float64 to integers in the same order, adjacent floats to adjacent integers (±0 → 0)."""
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, -(bits & _MAGNITUDE), bits).astype(object)


def ulp_distance(computed, exact) -> np.ndarray:
    """How many float64 values lie between ``computed`` and ``exact``, plus one if they differ:
    0 when equal, 1 for neighbours (the count crosses zero and the subnormals correctly).

    >>> ulp_distance(np.array([1.0, 0.0]), np.array([np.nextafter(1.0, 2.0), -0.0])).tolist()
    [1, 0]
    """
    computed, exact = np.asarray(computed, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    if not (np.isfinite(computed).all() and np.isfinite(exact).all()):
        raise ValueError("ulp_distance needs finite values")
    return np.abs(_ordinal(computed) - _ordinal(exact))
