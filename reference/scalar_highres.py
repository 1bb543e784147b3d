"""High-resolution theory of scalar quantization for matrix multiplication, for any pair law.

theory.md §2.1–§2.2 (AKP = Ang, Kim, Pilanci, arXiv:2603.19559). A is m x k, B is k x n, each
entry of A quantized by Q_X, each entry of B by Q_Y; the k pairs behind one output entry are iid
copies of (X, Y). With D = XY − Q_X(X)Q_Y(Y), the error E = E||AB − ÂB̂||²_F is exactly

    E = m·n·( k·E[D²] + k(k−1)·(E[D])² ),

and for point densities λ (each integrating to 1) one side contributes

    E[D²] ⊃ K^(−2)·(1/12)·∫ p_X(x)·m_X(x)/λ(x)² dx,    m_X(x) = E[Y²|X = x],

minimized (Hölder) by λ* ∝ (p_X·m_X)^(1/3), with coefficient C* = (1/12)(∫ (p_X m_X)^(1/3))³.
The MSE-optimal (Panter–Dite) density ∝ p_X^(1/3) is optimal only where m_X is constant.

A law is given by two callables evaluated at an :class:`mpmath.mpf` x, written with mpmath
functions so that they follow the working precision: ``marginal_density(x)`` = p_X(x) and
``conditional_second_moment(x)`` = m_X(x), and by ``support = (left, right)`` (exact reals, or
±inf as ``float("inf")``, ``mpmath.inf`` or the strings ``"inf"``, ``"-inf"``). The integrals
are tanh-sinh quadratures over the support (split at 0, ±1, ±2, ±4, … inside it) evaluated at two
working precisions by the certification, so an integrand that the quadrature cannot resolve is
refused, not returned. :func:`gaussian_pair` gives the correlated Gaussian law of §2.3, whose
closed forms are in :mod:`quantmm.reference.scalar_gaussian`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from fractions import Fraction

import mpmath

from .precision import (
    DEFAULT_DIGITS,
    certified,
    checks_digits,
    exact_integer,
    exact_real,
    to_mpf,
)

__all__ = [
    "bennett_coefficient",
    "bias_crossover",
    "gaussian_pair",
    "optimal_point_density",
    "optimal_point_density_constant",
    "panter_dite_constant",
    "product_error",
]

#: A function of x evaluated at mpmath's working precision.
Density = Callable[[mpmath.mpf], mpmath.mpf]
#: One end of a support: an exact rational, or None for −inf (left) / +inf (right).
_End = Fraction | None

#: Interior split points of the quadratures (those strictly inside the support are used).
_SPLIT_POINTS = (0, 1, -1, 2, -2, 4, -4, 8, -8, 16, -16, 32, -32)
#: How far from 1 the integral of a point density may be before it is refused.
_NORMALIZATION_TOLERANCE = Fraction(1, 10**8)


# ---------------------------------------------------------------------------------------------
# Validation.
# ---------------------------------------------------------------------------------------------


def _function(value: object, name: str) -> Density:
    if not callable(value):
        raise ValueError(f"{name} must be a callable of one mpmath.mpf, got {value!r}")
    return value


def _is_infinite(value: object, sign: int) -> bool:
    """Whether ``value`` is the infinity of the given sign (as a float, mpf or string)."""
    if isinstance(value, str):
        text = value.strip().lower()
        return text in ({"inf", "+inf", "infinity", "+infinity"} if sign > 0 else {"-inf"})
    if isinstance(value, float | mpmath.mpf):
        return value == (mpmath.inf if sign > 0 else -mpmath.inf)
    return False


def _support(support: object) -> tuple[_End, _End]:
    """(left, right) as exact rationals, None for an infinite end; left < right."""
    if isinstance(support, str) or not isinstance(support, Sequence) or len(support) != 2:
        raise ValueError(f"support must be a pair (left, right), got {support!r}")
    raw_left, raw_right = support
    left = None if _is_infinite(raw_left, -1) else exact_real(raw_left, "support[0]")
    right = None if _is_infinite(raw_right, +1) else exact_real(raw_right, "support[1]")
    if left is not None and right is not None and not left < right:
        raise ValueError(f"support must have left < right, got {support!r}")
    return left, right


def _check_jensen(moment: Fraction, bias: Fraction, second_moment: object) -> None:
    if moment < bias**2:
        raise ValueError(
            f"second_moment must be >= mean**2 = {bias**2} (Jensen), got {second_moment!r}"
        )


def _quadrature_points(left: _End, right: _End) -> list[mpmath.mpf]:
    """The support's ends and the split points inside it, at the working precision."""
    inner = sorted(
        point
        for point in _SPLIT_POINTS
        if (left is None or left < point) and (right is None or point < right)
    )
    low = -mpmath.inf if left is None else to_mpf(left)
    high = mpmath.inf if right is None else to_mpf(right)
    return [low, *(mpmath.mpf(point) for point in inner), high]


def _integral(function: Density, left: _End, right: _End) -> mpmath.mpf:
    """∫ function over the support, at the working precision, to a tolerance relative to the
    integrand's size.

    mpmath.quad accepts a piece once two refinement levels differ by less than eps/8 in
    absolute terms: a small integrand (a law with tiny variance, say) would keep only the digits
    above eps, at both precisions of the certification, which could then agree on wrong digits.
    The integrand is therefore divided by its largest magnitude at a few sample points (the
    midpoints of the finite pieces, or points next to the finite ends) before integrating.
    """
    points = _quadrature_points(left, right)
    samples = []
    for low, high in itertools.pairwise(points):
        if mpmath.isfinite(low) and mpmath.isfinite(high):
            samples.append((low + high) / 2)
        elif mpmath.isfinite(low):
            samples.append(low + 1)
        elif mpmath.isfinite(high):
            samples.append(high - 1)
        else:
            samples.append(mpmath.mpf(0))
    size = max((abs(function(x)) for x in samples), default=mpmath.mpf(0))
    if not mpmath.isfinite(size) or size == 0:
        size = mpmath.mpf(1)
    return size * mpmath.quad(lambda x: function(x) / size, points)


# ---------------------------------------------------------------------------------------------
# Definitions at mpmath's current working precision (no validation, no certification).
# ---------------------------------------------------------------------------------------------


def _bennett_coefficient_at_working_precision(
    density: Density, second_moment: Density, point_density: Density, left: _End, right: _End
) -> mpmath.mpf:
    """(1/12)·∫ p·m/λ̂² with λ̂ = λ/∫λ (the normalization is checked by the caller's
    tolerance; dividing by ∫λ makes a λ normalized at working precision exact)."""
    mass = _integral(point_density, left, right)
    if abs(mass - 1) > to_mpf(_NORMALIZATION_TOLERANCE):
        raise ValueError(
            f"point_density must integrate to 1 over the support, got {mpmath.nstr(mass, 15)}"
        )
    integral = _integral(
        lambda x: density(x) * second_moment(x) / point_density(x) ** 2, left, right
    )
    return mass**2 * integral / 12


def _cube_root_integral(
    density: Density, second_moment: Density, left: _End, right: _End
) -> mpmath.mpf:
    """∫ (p·m)^(1/3) over the support."""
    return _integral(lambda x: mpmath.cbrt(density(x) * second_moment(x)), left, right)


def _optimal_constant_at_working_precision(
    density: Density, second_moment: Density, left: _End, right: _End
) -> mpmath.mpf:
    """C* = (1/12)·(∫ (p·m)^(1/3))³."""
    return _cube_root_integral(density, second_moment, left, right) ** 3 / 12


def _panter_dite_constant_at_working_precision(
    density: Density, second_moment: Density, left: _End, right: _End
) -> mpmath.mpf:
    """(1/12)·∫ p·m/λ² at λ = p^(1/3)/∫p^(1/3): (1/12)·(∫ p^(1/3))²·∫ p^(1/3)·m."""
    normalizer = _integral(lambda x: mpmath.cbrt(density(x)), left, right)
    weighted = _integral(lambda x: mpmath.cbrt(density(x)) * second_moment(x), left, right)
    return normalizer**2 * weighted / 12


# ---------------------------------------------------------------------------------------------
# Public, certified functions.
# ---------------------------------------------------------------------------------------------


@checks_digits
def bennett_coefficient(
    marginal_density: Density,
    conditional_second_moment: Density,
    point_density: Density,
    support: Sequence[object],
    digits: int = DEFAULT_DIGITS,
) -> mpmath.mpf:
    """(1/12)·∫ p_X·m_X/λ² dx: the K⁻² coefficient of one side's contribution to E[D²] when X is
    quantized with point density λ (theory.md §2.1; AKP).

    ``point_density`` must integrate to 1 over the support (within 10⁻⁸, else ValueError); the
    value is computed for λ/∫λ, so a density normalized at the working precision is exact.

    >>> from quantmm.reference import to_decimal
    >>> # X uniform on [0, 1], E[Y²|X] = 1, uniform λ: the classical Δ²/12 with Δ = 1/K.
    >>> one = lambda x: mpmath.mpf(1)
    >>> to_decimal(bennett_coefficient(one, one, one, (0, 1), digits=20), 20)
    '0.083333333333333333333'
    """
    density = _function(marginal_density, "marginal_density")
    second_moment = _function(conditional_second_moment, "conditional_second_moment")
    points = _function(point_density, "point_density")
    left, right = _support(support)
    return certified(
        lambda: _bennett_coefficient_at_working_precision(
            density, second_moment, points, left, right
        ),
        digits,
        "bennett_coefficient",
    )


@checks_digits
def optimal_point_density_constant(
    marginal_density: Density,
    conditional_second_moment: Density,
    support: Sequence[object],
    digits: int = DEFAULT_DIGITS,
) -> mpmath.mpf:
    """C* = (1/12)·(∫ (p_X·m_X)^(1/3) dx)³: the smallest Bennett coefficient, reached by
    λ* ∝ (p_X·m_X)^(1/3) (theory.md §2.2, Hölder; AKP).

    >>> from quantmm.reference import to_decimal
    >>> p, m = gaussian_pair(0)
    >>> to_decimal(optimal_point_density_constant(p, m, ("-inf", "inf"), digits=20), 20)  # √3π/2
    '2.7206990463513267759'
    """
    density = _function(marginal_density, "marginal_density")
    second_moment = _function(conditional_second_moment, "conditional_second_moment")
    left, right = _support(support)
    return certified(
        lambda: _optimal_constant_at_working_precision(density, second_moment, left, right),
        digits,
        "optimal_point_density_constant",
    )


@checks_digits
def optimal_point_density(
    x: object,
    marginal_density: Density,
    conditional_second_moment: Density,
    support: Sequence[object],
    digits: int = DEFAULT_DIGITS,
) -> mpmath.mpf:
    """λ*(x) = (p_X(x)·m_X(x))^(1/3) / ∫ (p_X·m_X)^(1/3): the optimal point density, normalized
    (theory.md §2.2; AKP). 0 outside the support (exactly). Where p·m vanishes inside the support
    the zero is computed, and refused by the certification.

    >>> from quantmm.reference import to_decimal
    >>> # X uniform on [0, 1] with E[Y²|X = x] = x² (e.g. Y = X): λ*(x) = (5/3)·x^(2/3).
    >>> one, square = (lambda x: mpmath.mpf(1)), (lambda x: x * x)
    >>> to_decimal(optimal_point_density(1, one, square, (0, 1), digits=20), 20)
    '1.6666666666666666667'
    """
    point = exact_real(x, "x")
    density = _function(marginal_density, "marginal_density")
    second_moment = _function(conditional_second_moment, "conditional_second_moment")
    left, right = _support(support)
    if (left is not None and point < left) or (right is not None and point > right):
        return mpmath.mpf(0)

    def evaluate() -> mpmath.mpf:
        at = to_mpf(point)
        numerator = mpmath.cbrt(density(at) * second_moment(at))
        return numerator / _cube_root_integral(density, second_moment, left, right)

    return certified(evaluate, digits, "optimal_point_density")


@checks_digits
def panter_dite_constant(
    marginal_density: Density,
    conditional_second_moment: Density,
    support: Sequence[object],
    digits: int = DEFAULT_DIGITS,
) -> mpmath.mpf:
    """The Bennett coefficient of the MSE-optimal (Panter–Dite) density λ ∝ p_X^(1/3):
    (1/12)·(∫ p^(1/3))²·∫ p^(1/3)·m_X. It equals C* only where m_X is constant
    (theory.md §2.2; AKP).

    >>> from quantmm.reference import to_decimal
    >>> p, m = gaussian_pair("0.5")
    >>> to_decimal(panter_dite_constant(p, m, ("-inf", "inf"), digits=20), 20)  # (√3π/2)·(3/2)
    '4.0810485695269901638'
    """
    density = _function(marginal_density, "marginal_density")
    second_moment = _function(conditional_second_moment, "conditional_second_moment")
    left, right = _support(support)
    return certified(
        lambda: _panter_dite_constant_at_working_precision(density, second_moment, left, right),
        digits,
        "panter_dite_constant",
    )


def gaussian_pair(rho: object) -> tuple[Density, Density]:
    """(p_X, m_X) for a zero-mean Gaussian pair with unit variances and correlation ρ
    (theory.md §2.3): p_X = the standard normal density, m_X(x) = (1 − ρ²) + ρ²x², with 1 − ρ²
    and ρ² kept exact until they are rounded at the working precision. Support: (−inf, inf).

    >>> p, m = gaussian_pair("0.5")
    >>> m(mpmath.mpf(2))
    mpf('1.75')
    """
    exact = exact_real(rho, "rho", minimum=-1, maximum=1)
    square, complement = exact**2, 1 - exact**2

    def marginal_density(x: mpmath.mpf) -> mpmath.mpf:
        return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)

    def conditional_second_moment(x: mpmath.mpf) -> mpmath.mpf:
        return to_mpf(complement) + to_mpf(square) * x * x

    return marginal_density, conditional_second_moment


@checks_digits
def product_error(
    m: object,
    k: object,
    n: object,
    second_moment: object,
    mean: object,
    digits: int = DEFAULT_DIGITS,
) -> mpmath.mpf:
    """E||AB − ÂB̂||²_F = m·n·(k·E[D²] + k(k−1)·(E[D])²) for A (m x k) and B (k x n) in the
    pair-iid model, from the per-pair moments E[D²] (``second_moment``) and E[D] (``mean``)
    (theory.md §2.1, exact). Jensen requires E[D²] ≥ (E[D])²; inputs violating it are refused.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(product_error(2, 100, 3, "0.01", "0.001", digits=10), 10)  # 6·(1 + 0.0099)
    '6.059400000'
    """
    rows, inner, columns = (
        exact_integer(value, name) for value, name in ((m, "m"), (k, "k"), (n, "n"))
    )
    moment = exact_real(second_moment, "second_moment", minimum=0)
    bias = exact_real(mean, "mean")
    _check_jensen(moment, bias, second_moment)
    exact = rows * columns * (inner * moment + inner * (inner - 1) * bias**2)
    if exact == 0:
        return mpmath.mpf(0)
    return certified(lambda: to_mpf(exact), digits, "product_error")


@checks_digits
def bias_crossover(second_moment: object, mean: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """The inner dimension k at which the bias term k(k−1)·(E[D])² of :func:`product_error`
    equals the variance term k·E[D²]: k = 1 + E[D²]/(E[D])² (theory.md §2.1). Beyond it the
    bias dominates; since E[D] = O(K⁻²) and E[D²] = O(K⁻²), this happens once k is comparable
    to K². A zero mean never crosses over (ValueError).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(bias_crossover("0.01", "0.001", digits=10), 10)
    '10001.00000'
    """
    moment = exact_real(second_moment, "second_moment", minimum=0)
    bias = exact_real(mean, "mean")
    _check_jensen(moment, bias, second_moment)
    if bias == 0:
        raise ValueError(
            f"mean must be nonzero: with E[D] = 0 the bias term never matters, got {mean!r}"
        )
    return certified(lambda: to_mpf(1 + moment / bias**2), digits, "bias_crossover")
