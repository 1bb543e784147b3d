"""The one error metric of the conformance harness, its tolerance table and its pass rule.

Issue #5, "How it measures": every numerical comparison in :mod:`quantmm.conformance` goes through
this module, so there is exactly one definition of an error and one pass rule.

- :func:`relative_error`: a relative error that stays finite for zeros, NaN and infinities
  (everything is capped at :data:`CAP`, the finite stand-in for "completely wrong").
- :func:`ulp_distance`: how many representable floats of the dtype lie between a computed value
  and the correctly rounded exact value (IEEE 754 order; −0 and +0 are the same point).
- :func:`correctly_rounded`: the float32/float64 nearest an exact or high-precision value
  (round to nearest, ties to even, with subnormals and overflow as IEEE 754 prescribes).
- :class:`ErrorSummary` / :func:`summarize`: worst and RMS error in ulps and in units of the
  dtype's eps, with the worst input.
- :data:`TOLERANCES` / :func:`tolerance_for`: the ulp bound of each (function, dtype, backend);
  :func:`within_tolerance`: the pass rule, ``worst_ulps <= max_ulps``.

The ulp bounds come from the error analyses of the fast formulas (theory.md §1.1 for φ and Γ,
§2.3 for λ*; the analyses are written out in tests/test_fast_functions.py and in
:mod:`quantmm.fast.functions`).

>>> import numpy as np
>>> ulp_distance(np.array([1.0, -0.0]), np.array([np.nextafter(1.0, 2.0), 0.0])).tolist()
[1.0, 0.0]
>>> float(correctly_rounded("0.1", "float32")) == float(np.float32(0.1))
True
>>> summary = summarize([1.0], [1.0], [{"x": 1.0}])
>>> within_tolerance(summary, tolerance_for("phi", "float64", "numpy"))
True
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from quantmm.fast.backend import to_numpy
from quantmm.reference.precision import _round_half_even

__all__ = [
    "BACKENDS",
    "CAP",
    "TOLERANCES",
    "ErrorSummary",
    "Tolerance",
    "correctly_rounded",
    "relative_error",
    "summarize",
    "tolerance_for",
    "ulp_distance",
    "within_tolerance",
]

#: The finite stand-in for "completely wrong": every error is capped here (2^64 exceeds the
#: largest possible ulp distance between two finite float64 values, about 2^64 − 2^53).
CAP = 2.0**64

#: The array backends the tolerance table distinguishes.
BACKENDS = ("numpy", "cupy")

_DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}

#: (significand bits with the hidden bit, exponent of the smallest normal, largest exponent).
_FORMATS = {"float32": (24, -126, 127), "float64": (53, -1022, 1023)}


def _float_dtype(dtype: Any, name: str) -> np.dtype:
    """``dtype`` as float32 or float64, or a TypeError naming ``name``."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from None
    if resolved not in _DTYPES.values():
        raise TypeError(f"{name} must be float32 or float64, got {resolved}")
    return resolved


def _float_pair(computed: Any, exact: Any, *, same_dtype: bool) -> tuple[np.ndarray, np.ndarray]:
    """``computed`` and ``exact`` as NumPy float arrays of one shape (CuPy arrays are copied)."""
    computed, exact = np.asarray(to_numpy(computed)), np.asarray(to_numpy(exact))
    computed_dtype = _float_dtype(computed.dtype, "computed")
    exact_dtype = _float_dtype(exact.dtype, "exact")
    if same_dtype and computed_dtype != exact_dtype:
        raise TypeError(
            f"exact must already have the dtype of computed ({computed_dtype}), got {exact_dtype}"
            " (round it with correctly_rounded first)"
        )
    if computed.shape != exact.shape:
        raise ValueError(
            f"computed and exact must have the same shape, got {computed.shape} and {exact.shape}"
        )
    return computed, exact


def _settle_special_values(
    computed: np.ndarray, exact: np.ndarray, error: np.ndarray
) -> np.ndarray:
    """``error`` with the NaN/infinity rule of both metrics applied, capped at :data:`CAP`: 0 where
    the values are equal (−0 and +0, NaN and NaN, equal infinities), else :data:`CAP` where
    either is NaN or infinite."""
    equal = (computed == exact) | (np.isnan(computed) & np.isnan(exact))
    hopeless = ~np.isfinite(computed) | ~np.isfinite(exact)
    return np.minimum(np.where(equal, 0.0, np.where(hopeless, CAP, error)), CAP)


def relative_error(computed: Any, exact: Any) -> np.ndarray:
    """Elementwise relative error of ``computed`` against ``exact``, finite everywhere (float64).

    The rules, in order:

    1. equal values (including equal infinities, −0 against +0, and NaN against NaN) → 0;
    2. exactly one of them NaN, or an infinity against anything different → :data:`CAP`;
    3. ``exact == 0`` → ``|computed| / tiny``, tiny the smallest normal of computed's dtype
       (so an error against zero is measured in units of the smallest normal and stays finite);
    4. otherwise ``|computed − exact| / |exact|`` (evaluated without spurious overflow);

    and every value is capped at :data:`CAP`. Both arguments must be float32 or float64 arrays
    (or Python floats) of one shape; they are compared in float64.

    >>> import numpy as np
    >>> relative_error([1.5, 0.0, np.nan, np.inf, np.nan], [1.0, 0.0, np.nan, np.inf, 1.0]).tolist()
    [0.5, 0.0, 0.0, 0.0, 1.8446744073709552e+19]
    >>> float(relative_error(np.float32(2**-126), np.float32(0.0)))  # one smallest normal
    1.0
    """
    computed, exact = _float_pair(computed, exact, same_dtype=False)
    tiny = float(np.finfo(computed.dtype).tiny)
    c = computed.astype(np.float64)
    e = exact.astype(np.float64)
    with np.errstate(all="ignore"):
        difference = np.abs(c - e)
        overflowed = np.isinf(difference) & np.isfinite(c) & np.isfinite(e)
        # Halving is exact for values this large, so the quotient is not spoiled by the overflow.
        difference = np.where(overflowed, np.abs(c / 2 - e / 2), difference)
        scale = np.where(overflowed, np.abs(e / 2), np.abs(e))
        error = np.where(e == 0, np.abs(c) / tiny, difference / np.where(e == 0, 1.0, scale))
    return _settle_special_values(c, e, np.where(np.isnan(error), CAP, error))


def _ordinals(x: np.ndarray) -> np.ndarray:
    """IEEE bits mapped to int64 in the order of the values: adjacent floats → adjacent integers,
    −0 and +0 → 0 (for float32 the 32-bit pattern is widened first)."""
    signed = np.dtype(f"int{8 * x.dtype.itemsize}")  # int32 for float32, int64 for float64
    bits = np.ascontiguousarray(x).view(signed).reshape(x.shape).astype(np.int64)
    magnitude = bits & np.int64(np.iinfo(signed).max)  # all bits but the sign
    return np.where(bits < 0, -magnitude, magnitude)


def ulp_distance(computed: Any, exact: Any) -> np.ndarray:
    """Elementwise number of steps between adjacent floats of the dtype from ``computed`` to
    ``exact``: 0 when equal, 1 for neighbours (crossing zero and the subnormals correctly), as
    float64 (exact up to 2^53).

    Both must have the same dtype, float32 or float64: ``exact`` must already be the correctly
    rounded value (:func:`correctly_rounded`). The IEEE bit patterns are mapped to integers in
    the order of the values, so −0 and +0 are 0 apart. NaN and infinities follow
    :func:`relative_error`: NaN against NaN and equal infinities are 0 apart; exactly one NaN,
    or an infinity against anything different, is :data:`CAP` apart.

    >>> import numpy as np
    >>> smallest = np.float64(5e-324)
    >>> ulp_distance(np.array([-smallest, 1.0, np.inf]), np.array([smallest, 2.0, 1.0])).tolist()
    [2.0, 4503599627370496.0, 1.8446744073709552e+19]
    """
    computed, exact = _float_pair(computed, exact, same_dtype=True)
    left, right = _ordinals(computed), _ordinals(exact)
    # |left − right| can exceed int64: take it modulo 2^64 in uint64, picking the sign by order.
    with np.errstate(over="ignore"):
        forward = right.astype(np.uint64) - left.astype(np.uint64)
        backward = np.uint64(0) - forward
    distance = np.where(left <= right, forward, backward).astype(np.float64)
    return _settle_special_values(computed, exact, distance)


def _exact_fraction(value: Any) -> Fraction | float:
    """An exact Fraction for a finite value; ±inf or NaN (as a float) for a non-finite mpf."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"value must be a real number, got the bool {value!r}")
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            return float(value)
        negative, mantissa, exponent, _ = value._mpf_
        magnitude = Fraction(int(mantissa)) * Fraction(2) ** int(exponent)
        return -magnitude if negative else magnitude
    if isinstance(value, (Fraction, numbers.Integral)):
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"value must be a decimal or rational string such as '0.1' or '1/3', got {value!r}"
            ) from None
    if isinstance(value, (float, np.floating)):
        return Fraction(float(value)) if math.isfinite(value) else float(value)
    raise TypeError(
        "value must be an mpmath mpf, a Fraction, an int, a float or a decimal string, "
        f"got {type(value).__name__}"
    )


def _round_fraction(magnitude: Fraction, dtype_name: str) -> float:
    """The nearest value of the format to ``magnitude`` > 0 (ties to even, IEEE overflow), as an
    exact Python float (every float32 is a float64). Exact integer arithmetic throughout."""
    precision, min_exponent, max_exponent = _FORMATS[dtype_name]
    numerator, denominator = magnitude.numerator, magnitude.denominator
    exponent = numerator.bit_length() - denominator.bit_length()  # 2^exponent ≈ magnitude
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1  # now 2^exponent <= magnitude < 2^(exponent + 1)
    quantum = max(exponent, min_exponent) - (precision - 1)  # the ulp there (subnormals too)
    if quantum >= 0:
        count = _round_half_even(numerator, denominator << quantum)
    else:
        count = _round_half_even(numerator << -quantum, denominator)
    if count * Fraction(2) ** quantum >= Fraction(2) ** (max_exponent + 1):
        return math.inf
    return math.ldexp(float(count), quantum)  # count < 2^precision: exact


def correctly_rounded(value: Any, dtype: Any = "float64") -> np.floating:
    """The float32 or float64 nearest ``value``: round to nearest, ties to even, values beyond
    the largest finite float (by half an ulp or more) to ±inf, tiny values to the correct
    subnormal or to a signed zero.

    ``value``: an :class:`mpmath.mpf` (its exact binary value; ±inf and NaN pass through), a
    :class:`~fractions.Fraction`, an int, a float, or a decimal/rational string (``"0.1"`` means
    exactly 1/10). float64 goes through Python's correctly rounded ``float(Fraction)``; float32
    is rounded here in exact integer arithmetic (rounding to float64 first and then to float32
    would round twice, which is wrong when the first rounding lands on a float32 tie).

    >>> from fractions import Fraction
    >>> float(correctly_rounded(Fraction(1) + Fraction(1, 2**24) + Fraction(1, 2**60), "float32"))
    1.0000001192092896
    >>> float(correctly_rounded(Fraction(1, 2**1075)))  # a tie between 0 and 2^−1074: even
    0.0
    >>> correctly_rounded(-(2**1024))
    np.float64(-inf)
    """
    dtype = _float_dtype(dtype, "dtype")
    exact = _exact_fraction(value)
    if isinstance(exact, float):  # ±inf or NaN
        return dtype.type(exact)
    if exact == 0:
        return dtype.type(0.0)
    sign = -1.0 if exact < 0 else 1.0
    magnitude = abs(exact)
    if dtype == np.float64:
        try:
            rounded = float(magnitude)  # CPython rounds int/int correctly, subnormals included
        except OverflowError:
            rounded = math.inf
    else:
        rounded = _round_fraction(magnitude, "float32")
    return dtype.type(math.copysign(rounded, sign))


def _jsonable(value: Any) -> Any:
    """A JSON value for one input: floats as exact ``float.hex`` strings, containers recursively."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral,)) and not isinstance(value, np.floating):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return repr(value)


@dataclass(frozen=True)
class ErrorSummary:
    """Worst and RMS error of a batch of values, in ulps and in units of the dtype's eps.

    ``worst_ulps`` / ``rms_ulps``: from :func:`ulp_distance` against the correctly rounded exact
    values; ``worst_eps`` / ``rms_eps``: :func:`relative_error` against the same values divided
    by the dtype's eps (2^−52 for float64, 2^−23 for float32); ``worst_index``: the flat index of
    the (first) largest ulp distance and ``worst_input`` its input in JSON form (floats written
    with ``float.hex``). Issue #5, "How it measures".
    """

    count: int
    worst_ulps: float
    rms_ulps: float
    worst_eps: float
    rms_eps: float
    worst_index: int
    worst_input: Any

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object (plain floats, ints, strings, lists)."""
        return {
            "count": self.count,
            "worst_ulps": self.worst_ulps,
            "rms_ulps": self.rms_ulps,
            "worst_eps": self.worst_eps,
            "rms_eps": self.rms_eps,
            "worst_index": self.worst_index,
            "worst_input": self.worst_input,
        }


def summarize(computed: Any, exact_rounded: Any, inputs: Any) -> ErrorSummary:
    """Measure ``computed`` against ``exact_rounded`` (the correctly rounded exact values, same
    dtype and shape) and summarize: worst and RMS in ulps and eps, and the worst input.

    ``inputs`` is a sequence with one entry per value (in flat order) describing its argument(s),
    e.g. ``[{"rate": 0.5}, ...]``; the worst one is returned in JSON form.

    >>> import numpy as np
    >>> one = np.nextafter(1.0, 2.0)
    >>> s = summarize(np.array([1.0, one]), np.array([1.0, 1.0]), [{"x": 0.0}, {"x": 1.0}])
    >>> s.worst_ulps, s.rms_ulps, s.worst_eps, s.worst_index, s.worst_input
    (1.0, 0.7071067811865476, 1.0, 1, {'x': '0x1.0000000000000p+0'})
    """
    computed, exact_rounded = _float_pair(computed, exact_rounded, same_dtype=True)
    count = int(computed.size)
    if count == 0:
        raise ValueError("computed must not be empty")
    inputs = list(inputs)
    if len(inputs) != count:
        raise ValueError(f"inputs must have one entry per value ({count}), got {len(inputs)}")
    ulps = ulp_distance(computed, exact_rounded).ravel()
    eps = float(np.finfo(computed.dtype).eps)
    in_eps = np.minimum(relative_error(computed, exact_rounded).ravel() / eps, CAP / eps)
    worst = int(np.argmax(ulps))
    return ErrorSummary(
        count=count,
        worst_ulps=float(ulps[worst]),
        rms_ulps=float(np.sqrt(np.mean(np.square(ulps)))),
        worst_eps=float(in_eps.max()),
        rms_eps=float(np.sqrt(np.mean(np.square(in_eps)))),
        worst_index=worst,
        worst_input=_jsonable(inputs[worst]),
    )


@dataclass(frozen=True)
class Tolerance:
    """A pass threshold: the largest allowed :func:`ulp_distance` and why it is that number."""

    max_ulps: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The tolerance as a JSON object."""
        return {"max_ulps": self.max_ulps, "reason": self.reason}


_NUMPY_LIBM = (
    "error analysis with exp2/exp/cbrt accurate to < 1 ulp (relative < 2u, u = 2^-53), measured "
    "for NumPy; a relative error below e*u is below floor(e + 1/2) ulps of the rounded value "
    "(tests/test_fast_functions.py)"
)
_CUDA_LIBM = (
    "CUDA's libdevice documents exp, exp2 and cbrt in double precision to within 1 ulp of the "
    "correctly rounded result (relative < 3u, not 2u as for NumPy); float64 subnormals are not "
    "flushed (CUDA's flush-to-zero applies to single precision), and contracting a*b + c into "
    "an FMA only removes roundings from this analysis (quantmm.fast runs its error-free "
    "products as separate CuPy ufuncs, which are never contracted)"
)

#: The library note of each backend, which ends every reason of its rows.
_LIBRARIES = {"numpy": _NUMPY_LIBM, "cupy": _CUDA_LIBM}

#: (function, backend) -> (ulp bound, its error analysis), every row float64.
_ANALYSES: dict[tuple[str, str], tuple[float, str]] = {
    ("phi", "numpy"): (
        4.0,
        "phi = s*(2 - s), s = 2^(-2R): s carries < 2u and enters twice with net weight "
        "(2 - 2s)/(2 - s) <= 1, plus one rounding each for the subtraction and the product: "
        "4u -> 4 ulps",
    ),
    ("gamma", "numpy"): (
        4.0,
        "Gamma = phi above R* (4 ulps); below R*, 1 - R*c with c = (1 - phi(R*))/R* rounded: at "
        "most 3 ulps (Gamma >= 0.488 there, no cancellation)",
    ),
    ("optimal_density", "numpy"): (
        9.0,
        "lambda* = exp(-e)(1 - r) cbrt(w)/I with e + r = u^2/6 exact to ~1e-25: exp 2u, w's "
        "4u through cbrt (4/3 u) plus cbrt's own 2u, two products, the rounded 1/I and the final "
        "correction u each: 9.33u -> 9 ulps",
    ),
    ("phi", "cupy"): (
        5.0,
        "the NumPy analysis with exp2 < 3u: s carries < 3u, net weight <= 1, plus 2u: 5u -> 5 ulps",
    ),
    ("gamma", "cupy"): (
        5.0,
        "phi's CuPy bound above R* (5 ulps); below R* no library function is used: 3 ulps",
    ),
    ("optimal_density", "cupy"): (
        11.0,
        "the NumPy analysis with exp and cbrt < 3u each: 3 + 4/3 + 3 + 4 = 11.33u -> 11 ulps",
    ),
}

#: The ulp bound of each (function, dtype, backend): the single table every check uses.
TOLERANCES: dict[tuple[str, str, str], Tolerance] = {
    (function, "float64", backend): Tolerance(max_ulps, f"{analysis}; {_LIBRARIES[backend]}")
    for (function, backend), (max_ulps, analysis) in _ANALYSES.items()
}


def tolerance_for(function: str, dtype: Any, backend: str) -> Tolerance:
    """The :data:`TOLERANCES` row for ``function`` at ``dtype`` on ``backend``.

    Raises ``KeyError`` naming the missing row and the rows that exist.

    >>> tolerance_for("optimal_density", "float64", "numpy").max_ulps
    9.0
    >>> tolerance_for("gamma", "float32", "numpy")
    Traceback (most recent call last):
    ...
    KeyError: "no tolerance for function 'gamma' at dtype 'float32' on backend 'numpy'; ...
    """
    dtype_name = str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype
    key = (function, dtype_name, backend)
    if key not in TOLERANCES:
        known = ", ".join("/".join(row) for row in sorted(TOLERANCES))
        raise KeyError(
            f"no tolerance for function {function!r} at dtype {dtype_name!r} on backend "
            f"{backend!r}; the table has: {known}"
        )
    return TOLERANCES[key]


def within_tolerance(summary: ErrorSummary, tolerance: Tolerance) -> bool:
    """The pass rule, written once: the worst ulp distance is at most the tolerance's bound.

    >>> within_tolerance(summarize([1.0], [1.0], [0.0]), Tolerance(0, "exact"))
    True
    """
    return summary.worst_ulps <= tolerance.max_ulps
