"""Distance in units in the last place, for the tests: the conformance harness's one definition.

The fast-path tests import :func:`ulp_distance` from here; it is
:func:`quantmm.conformance.errors.ulp_distance` (same dtype on both sides, float32 or float64;
−0 and +0 are 0 apart; a NaN or infinity against anything different is ``CAP`` = 2^64 apart,
so a non-finite result can never pass an ulp bound).

>>> import numpy as np
>>> ulp_distance(np.array([1.0, 0.0]), np.array([np.nextafter(1.0, 2.0), -0.0])).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

from quantmm.conformance.errors import CAP, ulp_distance

__all__ = ["CAP", "ulp_distance"]
