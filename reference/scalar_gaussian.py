"""High-resolution scalar quantization of correlated Gaussian pairs for matrix multiplication.

theory.md §2.3 (AKP = Ang, Kim, Pilanci, arXiv:2603.19559). For a zero-mean Gaussian pair (X, Y)
with unit variances and correlation ρ, the conditional second moment is
m(x) = E[Y²|X = x] = 1 − ρ² + ρ²x², and the optimal point density of §2.2 is

    λ*(u) = exp(−u²/6)·((1 − ρ²) + ρ²u²)^(1/3) / I(ρ)                               [paper]
    I(ρ)  = ∫ exp(−u²/6)((1 − ρ²) + ρ²u²)^(1/3) du
          = √π (1 − ρ²)^(5/6)/|ρ| · U(1/2, 11/6, (1 − ρ²)/(6ρ²))     (Tricomi U)
    I(0) = √(6π),   I(±1) = 6^(5/6)·Γ(5/6)
    G_opt(ρ) = I(ρ)³/(12√(2π))  (per side),   G_PD(ρ) = (√3π/2)(1 + 2ρ²)

λ* is unimodal at 0 for |ρ| ≤ 1/√3 and bimodal with peaks ±√(3 − 1/ρ²) for |ρ| > 1/√3.

The compander bias (derived here, checked in tests/test_scalar_gaussian.py against the exact
finite-K mean error): when X and Y are both quantized by the compander of a density λ with K
levels (points Λ⁻¹((i − ½)/K), midpoint thresholds), for |ρ| < 1

    E[D] = β/K² + o(K⁻²),   β = −(ρ/12)·∫ φ(x)(1 − x²)/λ(x)² dx,

because E[Y·e_X] = ρ·E[X·e_X] = −(ρ/(24K²))·∫ (xφ)'/λ² dx and E[e_X·e_Y] = o(K⁻²). At |ρ| = 1
the last claim fails (then e_Y = ±e_X and E[e_X e_Y] = ±E[e_X²] ≍ K⁻²): the coefficient there is
β = −(ρ/12)·∫ φ(x)(2 − x²)/λ(x)² dx, finite for the Panter–Dite density and infinite for λ*
(which vanishes at 0 when |ρ| = 1). The limit is therefore not uniform in ρ near ±1: the
|ρ| < 1 coefficient is reached only once K·√(1 − ρ²) is large. For λ*, β changes sign at
ρ ≈ ±0.9087 (the wide cells around λ*'s dip at 0 take over). The o(K⁻²) remainder is of order
K⁻³·log K (the outer cells), not K⁻⁴, so extrapolations in K must allow for it.

The same caveat holds for E[D²] (theory.md §2.1): its cross term 2·E[XY·e_X·e_Y] is o(K⁻²) only
for |ρ| < 1. At ρ = ±1 it equals the two one-sided terms together, so K²·E[D²] → 4·G (for the
Panter–Dite compander at ρ = 1: 4·G_PD(1) = 6√3π, checked in the tests), not 2·G.

Public functions take exact inputs and return certified :class:`mpmath.mpf` values (see
:mod:`quantmm.reference.precision`); the private ``_..._at_working_precision`` helpers compute at
mpmath's current working precision.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import mpmath

from .precision import (
    DEFAULT_DIGITS,
    UncertifiedValueError,
    certified,
    checks_digits,
    exact_real,
    to_mpf,
)

__all__ = [
    "compander_bias_coefficient",
    "density_normalizer",
    "design_gain_db",
    "g_opt",
    "g_pd",
    "is_bimodal",
    "optimal_density",
    "optimal_density_cdf",
    "optimal_density_quantile",
    "peak_location",
]

#: Break points of the quadratures in u: the density's features live at scale 1–√3, its
#: Gaussian tail exp(−u²/6) is below 10^−10 beyond 12.
_BREAK_POINTS = (1, 3, 6, 12)
#: The CDF and quantile start from tabulated masses at the anchors k·_ANCHOR_STEP, k ≤ N.
_ANCHOR_STEP = mpmath.mpf(1) / 4
_ANCHOR_COUNT = 48
#: Beyond this point the infinite tail is integrated in the variable y = (v² − start²)/6.
_TAIL_START = 3
#: Break points in t = asinh(u/ε) for the near-singular part (see _partial_integral...).
_SINH_BREAK_POINTS = (1, 2, 4, 8, 16, 32, 64)


# ---------------------------------------------------------------------------------------------
# Definitions at mpmath's current working precision (no validation, no certification).
# ---------------------------------------------------------------------------------------------


def _complement(rho: mpmath.mpf) -> mpmath.mpf:
    """1 − ρ² as (1 − |ρ|)(1 + |ρ|): 1 − |ρ| is exact for |ρ| ≥ 1/2 (Sterbenz), so there is no
    cancellation when ρ is close to ±1."""
    magnitude = abs(rho)
    return (1 - magnitude) * (1 + magnitude)


def _unnormalized_density(u: mpmath.mpf, rho: mpmath.mpf) -> mpmath.mpf:
    """exp(−u²/6)·((1 − ρ²) + ρ²u²)^(1/3), the numerator of λ*(u)."""
    return mpmath.exp(-u * u / 6) * mpmath.cbrt(_complement(rho) + rho * rho * u * u)


def _relative_quad(
    function: Callable[[mpmath.mpf], mpmath.mpf], points: Sequence[mpmath.mpf]
) -> mpmath.mpf:
    """∫ function over the consecutive finite pieces of ``points``, to a tolerance relative to
    the integrand's size.

    mpmath.quad stops refining a piece once two levels differ by less than eps/8 in absolute
    terms, so the integral over a short piece, or of a small integrand, would keep only the
    digits above eps — at *both* precisions of the certification, which could then agree on
    wrong digits. Each piece [a, b] is mapped to [0, 1] and divided by |function| at its
    midpoint (a few-fold of its maximum on the pieces used here), which makes the tolerance
    relative.
    """
    total = mpmath.mpf(0)
    for low, high in itertools.pairwise(points):
        width = high - low
        if width <= 0:
            continue
        size = abs(function(low + width / 2)) or mpmath.mpf(1)

        def standardized(s: mpmath.mpf, low=low, width=width, size=size) -> mpmath.mpf:
            return function(low + width * s) / size

        total += width * size * mpmath.quad(standardized, [0, 1])
    return total


def _partial_integral_at_working_precision(
    lower: mpmath.mpf, upper: mpmath.mpf, rho: mpmath.mpf
) -> mpmath.mpf:
    """∫_lower^upper exp(−v²/6)((1 − ρ²) + ρ²v²)^(1/3) dv for 0 ≤ lower ≤ upper ≤ +inf.

    The integrand has branch points at v = ±iε, ε = √(1 − ρ²)/|ρ|, which approach the real axis as
    |ρ| → 1 and would slow the quadrature near 0. On [0, 1] and for ε < 1 the substitution
    v = ε·sinh(t) removes them: ((1 − ρ²) + ρ²v²)^(1/3) dv = (1 − ρ²)^(1/3) cosh(t)^(5/3) ε dt.
    At ρ = ±1 the integrand is exp(−v²/6)|v|^(2/3), whose endpoint singularity at 0 tanh-sinh
    quadrature handles directly.
    """
    if lower >= upper:
        return mpmath.mpf(0)
    complement = _complement(rho)
    square = rho * rho
    total = mpmath.mpf(0)
    if 0 < complement < square and lower < 1:
        scale = mpmath.sqrt(complement / square)
        factor = mpmath.cbrt(complement) * scale

        def in_sinh_variable(t: mpmath.mpf) -> mpmath.mpf:
            v = scale * mpmath.sinh(t)
            return mpmath.exp(-v * v / 6) * mpmath.cosh(t) ** (mpmath.mpf(5) / 3)

        top = min(upper, mpmath.mpf(1))
        t_lower, t_upper = mpmath.asinh(lower / scale), mpmath.asinh(top / scale)
        inner = [t for t in _SINH_BREAK_POINTS if t_lower < t < t_upper]
        total += factor * _relative_quad(in_sinh_variable, [t_lower, *inner, t_upper])
        lower = top
        if lower >= upper:
            return total
    if upper == mpmath.inf:
        start = max(lower, mpmath.mpf(_TAIL_START))
        total += _tail_integral(start, rho)
        upper = start
        if lower >= upper:
            return total
    if lower >= _TAIL_START:
        # Beyond the peaks the integrand decays like exp(−lower·s/3) in s = v − lower.
        width = 3 / lower
        inner = [lower + width * 2**k for k in range(6) if lower + width * 2**k < upper]
    else:
        inner = [mpmath.mpf(v) for v in _BREAK_POINTS if lower < v < upper]
    return total + _relative_quad(lambda v: _unnormalized_density(v, rho), [lower, *inner, upper])


def _tail_integral(
    start: mpmath.mpf, rho: mpmath.mpf, start_factor: mpmath.mpf | None = None
) -> mpmath.mpf:
    """∫_start^∞ of the unnormalized density, start ≥ 1, in the variable y = (v² − start²)/6:
    exp(−v²/6) = exp(−start²/6)·exp(−y) and dv = 3/v dy, so the integrand is exp(−y) times a
    slowly varying factor whatever the start (a plain quadrature to +∞ loses digits for large
    starts, where the decay scale 3/start is short)."""
    complement, square = _complement(rho), rho * rho
    start_square = start * start

    def in_y(y: mpmath.mpf) -> mpmath.mpf:
        v_square = start_square + 6 * y
        return (
            mpmath.exp(-y) * mpmath.cbrt(complement + square * v_square) * 3 / mpmath.sqrt(v_square)
        )

    if start_factor is None:
        start_factor = mpmath.exp(-start_square / 6)
    return start_factor * mpmath.quad(in_y, [0, 1, 4, 16, 64, mpmath.inf])


def _gaussian_factor_exact(u: Fraction) -> mpmath.mpf:
    """exp(−u²/6) for an exact u, at the working precision with a relative error of a few ulps
    however large u is: u²/6 is exact, and the exponential is taken at a precision raised by the
    bits of its integer part, so its rounding to mpf adds no error to the exponent. (Rounding u
    first would multiply the result by exp(±u²·2^(−prec)/3): for |u| beyond about 10^45 no
    certification precision would agree.)"""
    exponent = u * u / 6
    extra = (exponent.numerator // exponent.denominator).bit_length() + 20
    with mpmath.workprec(mpmath.mp.prec + extra):
        value = mpmath.exp(-to_mpf(exponent))
    return +value


def _density_normalizer_by_quadrature_at_working_precision(rho: mpmath.mpf) -> mpmath.mpf:
    """I(ρ) from its definition: 2·∫_0^∞ exp(−u²/6)((1 − ρ²) + ρ²u²)^(1/3) du (even integrand)."""
    return 2 * _partial_integral_at_working_precision(mpmath.mpf(0), mpmath.inf, rho)


@dataclass(frozen=True)
class _MassTable:
    """Masses of the unnormalized density at the anchors a_k = k·_ANCHOR_STEP, k = 0 … N:
    ``heads[k]`` = ∫_0^(a_k) and ``tails[k]`` = ∫_(a_k)^∞, each a sum of positive pieces (no
    cancellation), and ``normalizer`` = I(ρ) = 2·tails[0]."""

    anchors: tuple[mpmath.mpf, ...]
    heads: tuple[mpmath.mpf, ...]
    tails: tuple[mpmath.mpf, ...]
    normalizer: mpmath.mpf


@functools.lru_cache(maxsize=256)
def _cached_mass_table(rho: mpmath.mpf, precision: int) -> _MassTable:
    with mpmath.workprec(precision):
        anchors = tuple(mpmath.mpf(k) * _ANCHOR_STEP for k in range(_ANCHOR_COUNT + 1))
        pieces = [
            _partial_integral_at_working_precision(left, right, rho)
            for left, right in itertools.pairwise(anchors)
        ]
        heads = [mpmath.mpf(0)]
        for piece in pieces:
            heads.append(heads[-1] + piece)
        tails = [_tail_integral(anchors[-1], rho)]
        for piece in reversed(pieces):
            tails.append(tails[-1] + piece)
        tails.reverse()
        return _MassTable(anchors, tuple(heads), tuple(tails), 2 * tails[0])


def _mass_table(rho: mpmath.mpf) -> _MassTable:
    """The anchor masses for ρ at the working precision, computed once per (ρ, precision): the
    CDF and the quantile are then short quadratures from the nearest anchor."""
    return _cached_mass_table(+rho, mpmath.mp.prec)


def _head_mass(v: mpmath.mpf, rho: mpmath.mpf) -> mpmath.mpf:
    """∫_0^v of the unnormalized density, v ≥ 0: the anchor below v plus a short piece."""
    table = _mass_table(rho)
    if v >= table.anchors[-1]:
        return table.normalizer / 2 - _tail_integral(v, rho)  # ≥ I/2 − 10^−10·I: no cancellation
    k = int(mpmath.floor(v / _ANCHOR_STEP))
    return table.heads[k] + _partial_integral_at_working_precision(table.anchors[k], v, rho)


def _tail_mass(v: mpmath.mpf, rho: mpmath.mpf) -> mpmath.mpf:
    """∫_v^∞ of the unnormalized density, v ≥ 0: a short piece plus the anchor above v."""
    table = _mass_table(rho)
    if v >= table.anchors[-1]:
        return _tail_integral(v, rho)
    k = int(mpmath.ceil(v / _ANCHOR_STEP))
    return _partial_integral_at_working_precision(v, table.anchors[k], rho) + table.tails[k]


@functools.lru_cache(maxsize=1024)
def _cached_normalizer(rho: mpmath.mpf, precision: int) -> mpmath.mpf:
    with mpmath.workprec(precision):
        return _density_normalizer_by_quadrature_at_working_precision(rho)


def _normalizer_at_working_precision(rho: mpmath.mpf) -> mpmath.mpf:
    """I(ρ) by quadrature of the definition, remembered per (ρ, working precision). (The CDF and
    the quantile use the anchor table's own sum, cheaper once the table exists.)"""
    return _cached_normalizer(+rho, mpmath.mp.prec)


def _density_normalizer_closed_form_at_working_precision(rho: mpmath.mpf) -> mpmath.mpf:
    """I(ρ) = √π (1 − ρ²)^(5/6)/|ρ| · U(1/2, 11/6, (1 − ρ²)/(6ρ²)); I(0) = √(6π) and
    I(±1) = 6^(5/6)·Γ(5/6), the limits of the Tricomi form (U(a, b, z) ~ z^(−a) as z → ∞ and
    ~ Γ(b − 1)/Γ(a)·z^(1−b) as z → 0)."""
    if rho == 0:
        return mpmath.sqrt(6 * mpmath.pi)
    complement = _complement(rho)
    five_sixths = mpmath.mpf(5) / 6
    if complement == 0:
        return mpmath.power(6, five_sixths) * mpmath.gamma(five_sixths)
    argument = complement / (6 * rho * rho)
    tricomi = mpmath.hyperu(mpmath.mpf(1) / 2, mpmath.mpf(11) / 6, argument)
    return mpmath.sqrt(mpmath.pi) * mpmath.power(complement, five_sixths) / abs(rho) * tricomi


def _optimal_density_at_working_precision(u: mpmath.mpf, rho: mpmath.mpf) -> mpmath.mpf:
    """λ*(u) = exp(−u²/6)((1 − ρ²) + ρ²u²)^(1/3) / I(ρ)."""
    return _unnormalized_density(u, rho) / _normalizer_at_working_precision(rho)


def _optimal_density_cdf_at_working_precision(u: mpmath.mpf, rho: mpmath.mpf) -> mpmath.mpf:
    """Λ(u) = ∫_{−∞}^u λ*(v) dv, using the symmetry Λ(−u) = 1 − Λ(u).

    For u < 0 the left tail ∫_{|u|}^∞ is integrated directly (no cancellation when Λ is small);
    for u ≥ 0, Λ(u) = 1/2 + ∫_0^u λ*, a sum of positive terms.
    """
    if u == 0:
        return mpmath.mpf(1) / 2
    normalizer = _mass_table(rho).normalizer
    if u < 0:
        return _tail_mass(-u, rho) / normalizer
    return mpmath.mpf(1) / 2 + _head_mass(u, rho) / normalizer


def _far_tail_point(
    scaled: mpmath.mpf, start: mpmath.mpf, start_tail: mpmath.mpf, rho: mpmath.mpf
) -> mpmath.mpf:
    """The v > start with T(v) = ∫_v^∞ (unnormalized density) = scaled < T(start).

    Newton's method on g(v) = ln T(v) − ln(scaled), g' = −f/T, which is close to linear in v²
    out here (T ≈ exp(−v²/6)·poly(v)), with a bracket [low, high] (g(low) > 0 > g(high)); the
    upper end is found by doubling. Each step costs one tail quadrature.
    """
    target_log = mpmath.ln(scaled)
    low, high = start, None
    point, value = start, mpmath.ln(start_tail) - target_log
    tolerance = mpmath.ldexp(1, -(mpmath.mp.prec // 2) - 8)
    for _ in range(4 * mpmath.mp.prec + 100):
        if value == 0:
            return point
        if value > 0:
            low = point
        else:
            high = point
        tail = mpmath.exp(value + target_log)
        candidate = point + value * tail / _unnormalized_density(point, rho)
        newton = candidate >= low and (high is None or candidate <= high)
        if newton and abs(candidate - point) <= tolerance * candidate:
            return candidate
        if not newton or candidate in (low, high):
            candidate = 2 * low if high is None else (low + high) / 2
        if high is not None and high - low <= 2 * mpmath.eps * high:
            return candidate
        point = candidate
        value = mpmath.ln(_tail_integral(point, rho)) - target_log
    raise UncertifiedValueError(
        f"optimal_density_quantile: the root finder did not converge at {mpmath.mp.dps} digits"
    )


def _split(low: mpmath.mpf, high: mpmath.mpf) -> mpmath.mpf:
    """A point strictly inside (low, high), 0 ≤ low < high: the geometric mean when the bracket
    spans more than a factor 4 (so a root near 0, e.g. p − 1/2 = 10⁻³⁰, is reached in a few
    steps), high/16 when low = 0, else the midpoint."""
    if low == 0:
        return high / 16
    if high > 4 * low:
        return mpmath.sqrt(low * high)
    return (low + high) / 2


def _point_of_mass_at_working_precision(
    target: mpmath.mpf, rho: mpmath.mpf, from_tail: bool
) -> mpmath.mpf:
    """The v > 0 with ∫_v^∞ λ* = target (``from_tail``) or ∫_0^v λ* = target, 0 < target < 1/2.

    F(v) = (∫_0^v λ*) − target, or target − ∫_v^∞ λ*, is strictly increasing with F' = λ* > 0 on
    v > 0. The anchor table brackets the root in an interval [low, high] with F(low) ≤ 0 < F(high)
    of width _ANCHOR_STEP (beyond the last anchor see :func:`_far_tail_point`); Newton's method
    from the linear interpolant polishes it, safeguarded by bisection (see :func:`_split`)
    whenever a step leaves the bracket. Each F costs one short quadrature from an anchor.
    """
    table = _mass_table(rho)
    normalizer = table.normalizer
    scaled = target * normalizer  # the target in units of the unnormalized density
    last = len(table.anchors) - 1

    def excess_at(k: int) -> mpmath.mpf:
        """F at anchor k, in units of the unnormalized density."""
        return scaled - table.tails[k] if from_tail else table.heads[k] - scaled

    # The first anchor past the root (F is increasing), or none: the root lies beyond the table.
    k = next((j for j in range(1, last + 1) if excess_at(j) > 0), None)
    if k is None:
        if not from_tail:
            raise ValueError(f"target must be < 1/2, got {target}")
        return _far_tail_point(scaled, table.anchors[last], table.tails[last], rho)
    low, high = table.anchors[k - 1], table.anchors[k]
    low_value, high_value = excess_at(k - 1), excess_at(k)

    def excess(v: mpmath.mpf) -> mpmath.mpf:
        """F(v), from the nearest anchor: its absolute error is a few ulps of the target, not of
        the values met on the way (updating F by increments would lose digits when a first
        step overshoots a small root by orders of magnitude)."""
        return scaled - _tail_mass(v, rho) if from_tail else _head_mass(v, rho) - scaled

    # Start from the linear interpolant inside the bracket.
    point = low + (high - low) * (-low_value) / (high_value - low_value)
    value = excess(point)
    tolerance = mpmath.ldexp(1, -(mpmath.mp.prec // 2) - 8)
    for _ in range(4 * mpmath.mp.prec + 100):
        if value == 0:
            return point
        if value < 0:
            low = point
        else:
            high = point
        slope = _unnormalized_density(point, rho)
        candidate = point - value / slope if slope > 0 else None
        # (A step below half an ulp leaves candidate == point: the bracket test is inclusive.)
        newton = candidate is not None and low <= candidate <= high
        # Quadratic convergence: after a Newton step of relative size ≤ 2^(−prec/2 − 8) the error
        # left is below 2^(−prec), under the quadrature's own noise; stop there.
        if newton and abs(candidate - point) <= tolerance * candidate:
            return candidate
        if not newton or candidate in (low, high):
            candidate = _split(low, high)
        if high - low <= 2 * mpmath.eps * high:
            return candidate
        point, value = candidate, excess(candidate)
    raise UncertifiedValueError(
        f"optimal_density_quantile: the root finder did not converge at {mpmath.mp.dps} digits"
    )


def _optimal_density_quantile_at_working_precision(p: mpmath.mpf, rho: mpmath.mpf) -> mpmath.mpf:
    """Λ⁻¹(p) for 0 < p < 1: 0 at p = 1/2, −Λ⁻¹(1 − p) below it (symmetry).

    For |p − 1/2| ≤ 1/4 the head mass ∫_0^v λ* = |p − 1/2| is solved (exact subtraction by
    Sterbenz's lemma, and v keeps its relative accuracy as p → 1/2); otherwise the tail mass
    ∫_v^∞ λ* = min(p, 1 − p) (1 − p is exact for p ≥ 1/2).
    """
    half = mpmath.mpf(1) / 2
    if p == half:
        return mpmath.mpf(0)
    offset = p - half
    if abs(offset) <= half / 2:
        magnitude = _point_of_mass_at_working_precision(abs(offset), rho, from_tail=False)
    else:
        tail = p if p < half else 1 - p
        magnitude = _point_of_mass_at_working_precision(tail, rho, from_tail=True)
    return magnitude if p > half else -magnitude


def _design_gain_db_at_working_precision(rho: mpmath.mpf) -> mpmath.mpf:
    """10·log10(G_PD/G_opt) = 10·log10(E[W]/m³), W = 1 − ρ² + 3ρ²Z², m = E[W^(1/3)].

    For ρ² ≥ 1/16 from G_PD and G_opt directly. Below, the ratio is 1 + O(ρ⁴) and is formed
    without cancellation: with δ = W − 1 = ρ²(3Z² − 1) and s = W^(1/3),
    s − 1 − δ/3 = −δ²(s + 2)/(3(s² + s + 1)²) =: a (exact algebra), so m = 1 + b with
    b = 2ρ²/3 + A, A = E[a] = O(ρ⁴), and E[W] − m³ = −3A − 3b² − b³ (≈ 6ρ⁴: 22ρ⁴/3 − 4ρ⁴/3).
    """
    square = rho * rho
    if 16 * square >= 1:
        normalizer = _normalizer_at_working_precision(rho)
        panter_dite = mpmath.sqrt(3) * mpmath.pi / 2 * (1 + 2 * square)
        optimal = normalizer**3 / (12 * mpmath.sqrt(2 * mpmath.pi))
        return 10 * mpmath.log10(panter_dite / optimal)

    def remainder_over_rho_4(z: mpmath.mpf) -> mpmath.mpf:  # a/ρ⁴ (O(1): see _relative_quad)
        shape = 3 * z * z - 1
        root = mpmath.cbrt(1 + square * shape)
        return -(shape**2) * (root + 2) / (3 * (root * root + root + 1) ** 2) * mpmath.npdf(z)

    average = 2 * square**2 * mpmath.quad(remainder_over_rho_4, [0, 1, 2, 4, 8, mpmath.inf])
    shift = 2 * square / 3 + average
    excess_ratio = (-3 * average - 3 * shift**2 - shift**3) / (1 + shift) ** 3
    return 10 * mpmath.log1p(excess_ratio) / mpmath.ln(10)


def _weighted_integral_at_working_precision(
    rho: mpmath.mpf, weight: Callable[[mpmath.mpf], mpmath.mpf], power: mpmath.mpf
) -> mpmath.mpf:
    """∫_0^∞ exp(−x²/6)·weight(x)·((1 − ρ²) + ρ²x²)^power dx (weight a polynomial).

    Three pieces: [0, 1] in x = ε·sinh(t) when ε = √(1 − ρ²)/|ρ| < 1 (there
    ((1 − ρ²) + ρ²x²)^power dx = (1 − ρ²)^power·cosh(t)^(2·power + 1)·ε dt, free of the branch
    points ±iε), [1, 3] as it stands, and [3, ∞) in y = (x² − 9)/6 (exp(−x²/6) = e^(−3/2)·e^(−y),
    dx = 3/x dy).
    """
    complement, square = _complement(rho), rho * rho

    def plain(x: mpmath.mpf) -> mpmath.mpf:
        return mpmath.exp(-x * x / 6) * weight(x) * mpmath.power(complement + square * x * x, power)

    if 0 < complement < square:
        scale = mpmath.sqrt(complement / square)
        factor = mpmath.power(complement, power) * scale

        def in_sinh_variable(t: mpmath.mpf) -> mpmath.mpf:
            x = scale * mpmath.sinh(t)
            return mpmath.exp(-x * x / 6) * weight(x) * mpmath.cosh(t) ** (2 * power + 1)

        top = mpmath.asinh(1 / scale)
        inner = [t for t in _SINH_BREAK_POINTS if t < top]
        head = factor * _relative_quad(in_sinh_variable, [mpmath.mpf(0), *inner, top])
    else:
        head = _relative_quad(plain, [mpmath.mpf(0), mpmath.mpf(1)])

    def in_y(y: mpmath.mpf) -> mpmath.mpf:
        x = mpmath.sqrt(9 + 6 * y)
        return mpmath.exp(-y) * weight(x) * mpmath.power(complement + square * x * x, power) * 3 / x

    tail = mpmath.exp(-mpmath.mpf(3) / 2) * mpmath.quad(in_y, [0, 1, 4, 16, 64, mpmath.inf])
    return head + _relative_quad(plain, [mpmath.mpf(1), mpmath.mpf(3)]) + tail


def _compander_bias_coefficient_at_working_precision(
    rho: mpmath.mpf, design: str, endpoint: bool
) -> mpmath.mpf:
    """β = −(ρ/12)·∫ φ(x)(c − x²)/λ(x)² dx with c = 1 for |ρ| < 1 and c = 2 at |ρ| = 1
    (``endpoint``; see the module docstring), for λ = λ* (``"opt"``) or the Panter–Dite density
    exp(−x²/6)/√(6π) (``"pd"``).

    φ/λ² = I²·exp(−x²/6)·w^(−2/3)/√(2π) for λ* (w = (1 − ρ²) + ρ²x²) and
    6π·exp(−x²/6)/√(2π) for Panter–Dite; the integrand is even, so ∫ = 2·∫_0^∞.
    """
    constant = 2 if endpoint else 1

    def weight(x: mpmath.mpf) -> mpmath.mpf:
        return constant - x * x

    if design == "opt":
        normalizer = _normalizer_at_working_precision(rho)
        integral = _weighted_integral_at_working_precision(rho, weight, -mpmath.mpf(2) / 3)
        ratio_scale = normalizer**2
    else:
        integral = _weighted_integral_at_working_precision(rho, weight, mpmath.mpf(0))
        ratio_scale = 6 * mpmath.pi
    return -rho / 12 * ratio_scale / mpmath.sqrt(2 * mpmath.pi) * 2 * integral


# ---------------------------------------------------------------------------------------------
# Public, certified functions.
# ---------------------------------------------------------------------------------------------


def _rho(value: object) -> Fraction:
    return exact_real(value, "rho", minimum=-1, maximum=1)


@checks_digits
def optimal_density(u: object, rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """λ*(u) = exp(−u²/6)·((1 − ρ²) + ρ²u²)^(1/3) / I(ρ): the optimal point density for one side
    of a unit-variance Gaussian pair with correlation ρ (theory.md §2.3; AKP).

    It integrates to 1 and is even in u (and in ρ). At |ρ| = 1 it vanishes at u = 0 (returned as
    an exact 0).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(optimal_density(0, 0, digits=20), 20)  # the N(0, 3) density at 0: 1/√(6π)
    '0.23032943298089031951'
    >>> to_decimal(optimal_density("1.5", "0.9", digits=20), 20)
    '0.16903864924518179885'
    """
    exact_u, exact_rho = exact_real(u, "u"), _rho(rho)
    if exact_u == 0 and exact_rho**2 == 1:
        return mpmath.mpf(0)

    def evaluate() -> mpmath.mpf:
        # exp(−u²/6) from the exact u (see _gaussian_factor_exact), the rest from the rounded u.
        at, r = to_mpf(exact_u), to_mpf(exact_rho)
        power = mpmath.cbrt(_complement(r) + r * r * at * at)
        return _gaussian_factor_exact(exact_u) * power / _normalizer_at_working_precision(r)

    return certified(evaluate, digits, "optimal_density")


@checks_digits
def optimal_density_cdf(u: object, rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """Λ(u) = ∫_{−∞}^u λ*(v) dv, the compander of the optimal density (theory.md §2.3–§2.4).

    Λ(0) = 1/2 and Λ(−u) = 1 − Λ(u); at ρ = 0 it is Φ(u/√3).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(optimal_density_cdf(1, "0.8", digits=20), 20)
    '0.65191714500029878949'
    >>> to_decimal(optimal_density_cdf(-30, 0, digits=10), 10)  # Φ(−√300)
    '1.647181192e-67'
    """
    exact_u, exact_rho = exact_real(u, "u"), _rho(rho)
    far = -exact_u >= Fraction(_ANCHOR_COUNT, 4)  # past the last anchor (_ANCHOR_STEP = 1/4)

    def evaluate() -> mpmath.mpf:
        at, r = to_mpf(exact_u), to_mpf(exact_rho)
        if far:  # exp(−u²/6) from the exact u (see _gaussian_factor_exact)
            tail = _tail_integral(-at, r, start_factor=_gaussian_factor_exact(exact_u))
            return tail / _mass_table(r).normalizer
        return _optimal_density_cdf_at_working_precision(at, r)

    return certified(evaluate, digits, "optimal_density_cdf")


@checks_digits
def optimal_density_quantile(p: object, rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """Λ⁻¹(p) for 0 < p < 1: the compander point of mass p (theory.md §2.4: the compander's
    levels are Λ⁻¹((i − ½)/K)). At ρ = 0 it is √3·Φ⁻¹(p); Λ⁻¹(1/2) = 0 exactly.

    Solved by safeguarded Newton on the strictly increasing Λ; p close to 0 or 1 is handled in
    the tail without forming 1 − p in floating point (p is exact).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(optimal_density_quantile("0.975", 0, digits=20), 20)  # √3·Φ⁻¹(0.975)
    '3.3947572022285154694'
    >>> to_decimal(optimal_density_quantile("1/64", "0.9", digits=20), 20)
    '-4.2630020602146381421'
    """
    exact_p = exact_real(p, "p", minimum=0, minimum_inclusive=False, maximum=1)
    if exact_p == 1:
        raise ValueError(f"p must be < 1, got {p!r}")
    exact_rho = _rho(rho)
    half = Fraction(1, 2)
    if exact_p == half:
        return mpmath.mpf(0)
    offset = abs(exact_p - half)
    # The mass to solve for, exact: the head |p − 1/2| near the middle, the tail min(p, 1 − p).
    from_tail = offset > half / 2
    target = min(exact_p, 1 - exact_p) if from_tail else offset
    sign = 1 if exact_p > half else -1

    def evaluate() -> mpmath.mpf:
        magnitude = _point_of_mass_at_working_precision(
            to_mpf(target), to_mpf(exact_rho), from_tail
        )
        return sign * magnitude

    return certified(evaluate, digits, "optimal_density_quantile")


@checks_digits
def density_normalizer(rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """I(ρ) = ∫ exp(−u²/6)((1 − ρ²) + ρ²u²)^(1/3) du (theory.md §2.3), computed two ways.

    Every evaluation computes I by quadrature of the definition *and* by the closed form
    √π (1 − ρ²)^(5/6)/|ρ| · U(1/2, 11/6, (1 − ρ²)/(6ρ²)) (Tricomi U; I(0) = √(6π),
    I(±1) = 6^(5/6)·Γ(5/6)), and raises :class:`UncertifiedValueError` if the two differ by more
    than 10^(−digits−1) relative; the quadrature value is returned.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(density_normalizer(0, digits=20), 20)  # √(6π)
    '4.3416075273496059562'
    >>> to_decimal(density_normalizer(1, digits=20), 20)  # 6^(5/6)·Γ(5/6)
    '5.0242516744829953107'
    """
    exact = _rho(rho)
    tolerance = Fraction(1, 10 ** (digits + 1))

    def evaluate() -> mpmath.mpf:
        value = to_mpf(exact)
        by_quadrature = _density_normalizer_by_quadrature_at_working_precision(value)
        closed_form = _density_normalizer_closed_form_at_working_precision(value)
        if abs(by_quadrature - closed_form) > to_mpf(tolerance) * abs(closed_form):
            raise UncertifiedValueError(
                f"density_normalizer: quadrature {mpmath.nstr(by_quadrature, digits + 5)} and the "
                f"Tricomi closed form {mpmath.nstr(closed_form, digits + 5)} disagree at "
                f"rho = {exact}; cannot certify {digits} digits"
            )
        return by_quadrature

    return certified(evaluate, digits, "density_normalizer")


@checks_digits
def g_opt(rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """G_opt(ρ) = I(ρ)³/(12√(2π)): the K⁻² coefficient of one side's E[D²] contribution with the
    optimal density (theory.md §2.2–§2.3), so with K_X = K_Y = K, K²·E[D²] → 2·G_opt(ρ) for
    |ρ| < 1 (at |ρ| = 1 the cross term adds as much again: see the module docstring).

    It equals (1/12)(∫ (φ·m)^(1/3))³ with m(x) = 1 − ρ² + ρ²x² (Hölder); G_opt(0) = √3π/2.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(g_opt(0, digits=20), 20)  # √3π/2, the Panter–Dite constant
    '2.7206990463513267759'
    >>> to_decimal(g_opt(1, digits=20), 20)
    '4.2164113871283015610'
    """
    exact = _rho(rho)

    def evaluate() -> mpmath.mpf:
        normalizer = _normalizer_at_working_precision(to_mpf(exact))
        return normalizer**3 / (12 * mpmath.sqrt(2 * mpmath.pi))

    return certified(evaluate, digits, "g_opt")


@checks_digits
def g_pd(rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """G_PD(ρ) = (√3π/2)(1 + 2ρ²): the same coefficient for the Panter–Dite (MSE-optimal)
    density ∝ φ^(1/3), the design commonly used for matmul (theory.md §2.3).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(g_pd("0.5", digits=20), 20)  # (3/2)·√3π/2
    '4.0810485695269901638'
    """
    exact = _rho(rho)
    return certified(
        lambda: mpmath.sqrt(3) * mpmath.pi / 2 * to_mpf(1 + 2 * exact**2), digits, "g_pd"
    )


@checks_digits
def design_gain_db(rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """10·log10(G_PD/G_opt) ≥ 0: the gain in dB of the optimal density over Panter–Dite
    (theory.md §2.3; G_PD/G_opt = E[W]/(E[W^(1/3)])³ with W = 1 − ρ² + 3ρ²Z²). Exactly 0 at
    ρ = 0; for small ρ it is ≈ 60ρ⁴/ln 10, computed without cancellation.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(design_gain_db(1, digits=15), 15)
    '2.86858781562757'
    """
    exact = _rho(rho)
    if exact == 0:
        return mpmath.mpf(0)

    return certified(
        lambda: _design_gain_db_at_working_precision(to_mpf(exact)), digits, "design_gain_db"
    )


def is_bimodal(rho: object) -> bool:
    """Whether λ* has two peaks: exactly when |ρ| > 1/√3, i.e. 3ρ² > 1, decided in exact
    rational arithmetic (theory.md §2.3; AKP's phase transition).

    >>> is_bimodal("0.577"), is_bimodal("0.578"), is_bimodal(-1)
    (False, True, True)
    """
    exact = _rho(rho)
    return 3 * exact**2 > 1


@checks_digits
def peak_location(rho: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """The positive mode of λ*: 0 when |ρ| ≤ 1/√3 (unimodal), else √(3 − 1/ρ²) (theory.md §2.3;
    AKP). The density is even, so for |ρ| > 1/√3 the peaks are ±√(3 − 1/ρ²); the positive one is
    returned.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(peak_location(1, digits=20), 20)  # √2
    '1.4142135623730950488'
    >>> peak_location("0.5")
    mpf('0.0')
    """
    exact = _rho(rho)
    if not 3 * exact**2 > 1:
        return mpmath.mpf(0)
    square = (3 * exact**2 - 1) / exact**2  # 3 − 1/ρ², exact
    return certified(lambda: mpmath.sqrt(to_mpf(square)), digits, "peak_location")


@checks_digits
def compander_bias_coefficient(
    rho: object, design: str = "opt", digits: int = DEFAULT_DIGITS
) -> mpmath.mpf:
    """β with E[D] = β/K² + o(K⁻²) when X and Y are both quantized by the K-level compander of
    ``design`` (``"opt"``: λ*; ``"pd"``: Panter–Dite, N(0, 3)), points Λ⁻¹((i − ½)/K) and
    midpoint thresholds (theory.md §2.1, §2.4; derived in the module docstring).

    For |ρ| < 1, β = −(ρ/12)·∫ φ(x)(1 − x²)/λ(x)² dx (for Panter–Dite this is √3·π·ρ). At
    |ρ| = 1 the cross term E[e_X e_Y] is of order K⁻² too and β = −(ρ/12)·∫ φ(2 − x²)/λ² dx
    (√3·π·ρ/2 for Panter–Dite); for ``"opt"`` that integral diverges (λ*(0) = 0) and a
    ValueError is raised. Near |ρ| = 1 the expansion needs K·√(1 − ρ²) ≫ 1. For ``"opt"``, β
    is negative for |ρ| above ≈ 0.9087 (sign of ρ times).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(compander_bias_coefficient("0.5", "pd", digits=20), 20)  # √3π/2
    '2.7206990463513267759'
    >>> to_decimal(compander_bias_coefficient("0.5", "opt", digits=20), 20)
    '1.3759333896975275717'
    """
    exact = _rho(rho)
    if design not in ("opt", "pd"):
        raise ValueError(f"design must be 'opt' or 'pd', got {design!r}")
    if exact == 0:
        return mpmath.mpf(0)  # E[D] = 0 for independent X, Y and symmetric quantizers
    endpoint = exact**2 == 1
    if endpoint and design == "opt":
        raise ValueError(
            f"rho = {rho!r}: at |rho| = 1 the optimal density vanishes at 0 and the bias "
            "coefficient of its compander is infinite (E[D] is not O(K^-2))"
        )
    return certified(
        lambda: _compander_bias_coefficient_at_working_precision(to_mpf(exact), design, endpoint),
        digits,
        "compander_bias_coefficient",
    )
