"""Shared test set-up: mpmath precision isolation and a reproducible hypothesis profile."""

from __future__ import annotations

import os

import mpmath
import pytest
from hypothesis import settings

# Same seed, same examples: a failure prints its falsifying example and reproduces on every run.
# Vary the examples with `pytest --hypothesis-seed=N` (hypothesis prints the seed it used).
settings.register_profile("quantmm", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("quantmm")

# quantmm.fast's compiled (numba) kernels give the same bits as its vectorized NumPy code, which
# tests/test_fast_compiled.py checks function by function and through whole certificates. The
# rest of the suite runs the NumPy code: each fresh process that loads numba pays about 1.3 s,
# and the harness starts dozens. `QUANTMM_NUMBA=1 pytest -n auto` runs everything compiled.
os.environ.setdefault("QUANTMM_NUMBA", "0")

#: mpmath's default working precision, restored around every test.
DEFAULT_MPMATH_DPS = 15


@pytest.fixture(autouse=True)
def isolated_mpmath_precision():
    """Run every test at mpmath's default precision and restore it afterwards.

    A test that changes ``mpmath.mp.dps`` (or calls code that leaks a change) cannot affect the
    next test.
    """
    mpmath.mp.dps = DEFAULT_MPMATH_DPS
    yield
    mpmath.mp.dps = DEFAULT_MPMATH_DPS
