"""Vectorized float64 versions of φ, Γ and the optimal point density λ* (theory.md §1.1, §2.3).

Each function takes a NumPy or CuPy array (or a Python number) and returns float64 of the same
array module and shape. The constants that are not elementary — R*, the slope of Γ below R*, and
1/I(ρ) — are taken once from the certified mpmath reference (:mod:`quantmm.reference`) at 30
digits and rounded to the nearest float64, then cached.

Accuracy (tests/test_fast_functions.py measures it against the reference rounded to float64):
the formulas avoid cancellation, so the error is a few roundings plus the error of ``exp2``,
``exp`` and ``cbrt`` (each measured below 1 ulp on NumPy):

- φ(R) = s·(2 − s), s = 2^(−2R): no cancellation (φ = 1 − (1 − s)² would lose everything for
  large R). At most 4 ulps by the error analysis in the tests (the error of s enters φ twice
  with opposite signs, weighted (2 − 2s)/(2 − s) ≤ 1).
- Γ(R) = φ(R) for R ≥ R*, else 1 − R·c with c = (1 − φ(R*))/R* (so Γ ≥ 0.48 there and the
  subtraction is benign): at most 3 ulps on that branch, 4 over all rates.
- λ*(u) = exp(−u²/6)·((1 − ρ²) + ρ²u²)^(1/3)/I(ρ): u² is formed exactly (Dekker's product), so
  the exponential's argument is exact to far below an ulp even where u²/6 is large (a rounded
  u²/6 would cost u²/6 ulps). At most 9 ulps by the analysis; results below 2^(−1022) are
  subnormal and accurate to a few units of 2^(−1074) instead.

>>> import numpy as np
>>> phi(np.array([0.0, 1.0, 2.0])).tolist()  # 1, 7/16, 31/256
[1.0, 0.4375, 0.12109375]
>>> float(gamma(1.0)), float(gamma(0.0))
(0.4375, 1.0)
>>> round(float(optimal_density(0.0, 0.0)), 12)  # the N(0, 3) density at 0: 1/√(6π)
0.230329432981
"""

from __future__ import annotations

import functools
import math
import numbers
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from .backend import array_module, validated_array

__all__ = ["gamma", "optimal_density", "phi"]

#: Reference digits behind the cached constants (rounded to float64 afterwards).
_CONSTANT_DIGITS = 30
#: Rates are capped here before 2^(−2R) is formed: φ and Γ already round to 0 for R ≥ 538.5,
#: and the cap keeps −2R from overflowing. The result is unchanged (exactly 0 either way).
_RATE_CAP = 1100.0
#: |u| is capped here: λ*(u) < 2^(−1075) (rounds to 0) already for |u| ≥ 68, and the cap keeps
#: the exact square u² far from overflow. The result is unchanged (exactly 0 either way).
_U_CAP = 100.0
#: Veltkamp's splitting constant 2^27 + 1 for Dekker's exact product.
_SPLITTER = 134217729.0


def _nearest_float(value: mpmath.mpf) -> float:
    """The float64 nearest to an mpf (through an exact fraction: Python rounds that correctly)."""
    negative, mantissa, exponent, _ = value._mpf_
    magnitude = Fraction(int(mantissa)) * Fraction(2) ** int(exponent)
    return float(-magnitude if negative else magnitude)


def _float64_input(x: Any, name: str):
    """``x`` as a finite float64 array of its own module. A real scalar (Python or NumPy, not a
    bool) is accepted as a number; an array must have dtype float32 or float64."""
    if isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)):
        x = np.float64(x)
    array = validated_array(x, name)
    xp = array_module(array)
    return xp.asarray(array, dtype=xp.float64), xp


def _nonnegative_rates(rate: Any):
    rates, xp = _float64_input(rate, "rate")
    negative = int(xp.count_nonzero(rates < 0))
    if negative:
        raise ValueError(
            f"rate must be >= 0: {negative} of its {rates.size} entries are negative "
            f"(smallest {float(rates.min())!r})"
        )
    return rates, xp


def _unwrapped(result):
    """A 0-d NumPy result as a NumPy scalar (arrays and CuPy results unchanged)."""
    return result[()] if isinstance(result, np.ndarray) and result.ndim == 0 else result


def _phi_of_checked(rates, xp):
    single = xp.exp2(xp.minimum(rates, _RATE_CAP) * -2.0)  # s = 2^(−2R), −2R exact
    return single * (2.0 - single)


def phi(rate: Any):
    """φ(R) = 2·2^(−2R) − 2^(−4R) = s·(2 − s) with s = 2^(−2R), elementwise (theory.md §1.1, OP).

    ``rate`` (bits per entry) must be finite and ≥ 0; float32 input is widened to float64.

    >>> import numpy as np
    >>> phi(np.array([0.0, 0.5, 40.0])).tolist()
    [1.0, 0.75, 1.6543612251060553e-24]
    >>> phi(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: rate must be >= 0: 1 of its 1 entries are negative (smallest -1.0)
    """
    rates, xp = _nonnegative_rates(rate)
    return _unwrapped(_phi_of_checked(rates, xp))


@functools.lru_cache(maxsize=1)
def _gamma_constants() -> tuple[float, float]:
    """(R*, (1 − φ(R*))/R*) from the certified reference, each rounded to the nearest float64.

    The slope is −Γ'(0), the reference's :func:`~quantmm.reference.gamma_derivative` at 0.
    """
    from quantmm.reference import critical_rate, gamma_derivative

    critical = critical_rate(digits=_CONSTANT_DIGITS)
    slope = -gamma_derivative(0, digits=_CONSTANT_DIGITS)
    return _nearest_float(critical), _nearest_float(slope)


def gamma(rate: Any):
    """Γ(R), the distortion-rate function of Gaussian matrix multiplication (theory.md §1.1, OP).

    Γ(R) = φ(R) for R ≥ R* and 1 − R·(1 − φ(R*))/R* below (time sharing); R* ≈ 0.906 is the
    float64 nearest the reference's certified :func:`~quantmm.reference.critical_rate`. Γ is C¹
    at R*, so a rate between that float and the true R* sees the two branches agree to O(ulp²).

    >>> import numpy as np
    >>> gamma(np.array([0.0, 0.5, 1.0, 3.0])).tolist()  # 1, ..., 7/16, 127/4096
    [1.0, 0.7177058449316325, 0.4375, 0.031005859375]
    >>> gamma(float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: rate must be finite: 1 of its 1 entries are NaN or infinite
    """
    rates, xp = _nonnegative_rates(rate)
    critical, slope = _gamma_constants()
    upper = _phi_of_checked(rates, xp)
    lower = 1.0 - rates * slope
    return _unwrapped(xp.where(rates >= critical, upper, lower))


def _validated_rho(rho: Any) -> float:
    if isinstance(rho, (bool, np.bool_)) or not isinstance(rho, numbers.Real):
        raise TypeError(f"rho must be a real number in [-1, 1], got {type(rho).__name__}")
    value = float(rho)
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise ValueError(f"rho must be a finite number in [-1, 1], got {rho!r}")
    return abs(value)  # λ* depends on ρ² only


@functools.lru_cache(maxsize=64)
def _density_constants(rho: float) -> tuple[float, float, float]:
    """(1 − ρ², ρ², 1/I(ρ)), each the float64 nearest the exact value; I(ρ) from the reference's
    certified :func:`~quantmm.reference.density_normalizer` (theory.md §2.3)."""
    from quantmm.reference import density_normalizer

    exact = Fraction(rho)
    normalizer = density_normalizer(exact, digits=_CONSTANT_DIGITS)
    with mpmath.workdps(_CONSTANT_DIGITS + 10):
        reciprocal = 1 / normalizer
    return float(1 - exact * exact), float(exact * exact), _nearest_float(reciprocal)


def _split(x, xp):
    """Veltkamp's split x = high + low, each with at most 26 significant bits (|x| ≤ 2^996)."""
    scaled = x * _SPLITTER
    high = scaled - (scaled - x)
    return high, x - high


def _product_error(x, y, product, xp):
    """The exact rounding error x·y − fl(x·y) (Dekker's two-product, no FMA needed)."""
    x_high, x_low = _split(x, xp)
    y_high, y_low = _split(y, xp)
    return ((x_high * y_high - product) + x_high * y_low + x_low * y_high) + x_low * y_low


def optimal_density(u: Any, rho: Any):
    """λ*(u) = exp(−u²/6)·((1 − ρ²) + ρ²u²)^(1/3) / I(ρ), elementwise in ``u`` (theory.md §2.3;
    AKP): the optimal point density of one side of a unit-variance Gaussian pair with correlation
    ``rho`` (a number in [−1, 1]). It integrates to 1 and is even in u and in ρ.

    The exponential is evaluated as exp(−e)·(1 − r) where e + r = u²/6 exactly to far below an
    ulp (u² as an exact double-double), so large |u| costs no accuracy.

    >>> import numpy as np
    >>> values = optimal_density(np.array([-1.5, 0.0, 1.5]), 0.9)
    >>> [round(v, 12) for v in values.tolist()]
    [0.169038649245, 0.111991659916, 0.169038649245]
    >>> optimal_density(0.0, 1.5)
    Traceback (most recent call last):
    ...
    ValueError: rho must be a finite number in [-1, 1], got 1.5
    """
    points, xp = _float64_input(u, "u")
    complement, square, reciprocal = _density_constants(_validated_rho(rho))
    magnitude = xp.minimum(xp.abs(points), _U_CAP)
    high = magnitude * magnitude
    low = _product_error(magnitude, magnitude, high, xp)  # u² = high + low exactly
    exponent = high / 6.0
    sixfold = exponent * 6.0
    sixfold_error = _product_error(exponent, xp.full_like(exponent, 6.0), sixfold, xp)
    # u²/6 − exponent = (high − 6·exponent + low)/6; high − sixfold is exact (Sterbenz).
    remainder = (((high - sixfold) - sixfold_error) + low) / 6.0
    shape = xp.cbrt(complement + square * high)
    if complement == 0.0:  # |ρ| = 1: (ρ²u²)^(1/3), and u² underflows for |u| below ~2^-537
        # Same formula on u·2^600 (exact), then ·2^-400 (exact): the error analysis is unchanged.
        tiny = high < 2.0**-900
        scaled = xp.where(tiny, magnitude, 0.0) * 2.0**600
        shape = xp.where(tiny, xp.cbrt(square * (scaled * scaled)) * 2.0**-400, shape)
    value = (xp.exp(-exponent) * shape) * reciprocal
    return _unwrapped(value - value * remainder)
