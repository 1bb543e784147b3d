"""Exact error moments of entrywise scalar quantization for Gaussian pairs (theory.md §2.1, §2.4).

(X, Y) is a standard bivariate normal pair with correlation ρ; X is quantized by Q_X, Y by Q_Y
(:class:`~quantmm.reference.scalar_codebook.ScalarCodebook`), and D = XY − Q_X(X)·Q_Y(Y). The
matrix-multiplication error is E = m·n·(k·E[D²] + k(k−1)·(E[D])²) (AKP; theory.md §2.1), so these
two moments are all a design needs.

Given X = x, Y ~ N(ρx, 1 − ρ²), and the conditional moments of Q_Y(Y) have closed forms through Φ
and φ on each cell of Q_Y:

    q(x) = E[Q_Y(Y) | x],   g(x) = E[Y·Q_Y(Y) | x],   h(x) = E[Q_Y(Y)² | x].

Then, with E[X²Y²] = 1 + 2ρ² (Isserlis) and a_i, S_i the levels and cells of Q_X,

    E[D]  = ρ − Σ_i a_i ∫_{S_i} φ(x)·q(x) dx
    E[D²] = 1 + 2ρ² − Σ_i ∫_{S_i} φ(x)·(2·a_i·x·g(x) − a_i²·h(x)) dx,

one-dimensional integrals over the cells of X. Each cell is split where ρx crosses a threshold of
Q_Y, geometrically refined around those points (the integrand bends sharply there when |ρ| is
close to 1, see ``_pieces``), and integrated by Gauss–Legendre
quadrature whose degree is doubled until two degrees agree to the working precision; the line is
cut at ±x_max where φ(x_max)·(1 + x_max²) is below the working precision's epsilon (the integrands
are bounded by a constant times (1 + x²)·φ(x)). With symmetric codebooks the integrands are even
and only x ≥ 0 is integrated. At |ρ| = 1, Y = ρX and the same integrals hold with q, g, h evaluated
at Y = ρx. The subtraction in E[D²] loses about log10(K²) digits, which the certification's guard
digits absorb.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import mpmath
from mpmath.calculus.quadrature import GaussLegendre

from .precision import (
    DEFAULT_DIGITS,
    certified,
    certified_values,
    checks_digits,
    exact_real,
    to_mpf,
)
from .scalar_codebook import ScalarCodebook

__all__ = ["ProductErrorMoments", "mean_squared_error", "product_error_moments"]


class ProductErrorMoments(NamedTuple):
    """E[D²] and E[D] for D = XY − Q_X(X)·Q_Y(Y)."""

    second_moment: mpmath.mpf
    mean: mpmath.mpf


def _normal_mass(lower: mpmath.mpf, upper: mpmath.mpf) -> mpmath.mpf:
    """Φ(upper) − Φ(lower), taken in the tail where it is small so that it does not cancel."""
    if lower >= 0:
        return mpmath.ncdf(-lower) - mpmath.ncdf(-upper)
    return mpmath.ncdf(upper) - mpmath.ncdf(lower)


def _density(z: mpmath.mpf) -> mpmath.mpf:
    """φ(z), 0 at ±inf."""
    return mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi) if mpmath.isfinite(z) else 0


def _conditional_moments_at_working_precision(
    x: mpmath.mpf, codebook_y: ScalarCodebook, rho: mpmath.mpf
) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """(q, g, h)(x) = E[Q_Y(Y) | x], E[Y·Q_Y(Y) | x], E[Q_Y(Y)² | x] for Y | x ~ N(ρx, 1 − ρ²).

    On a cell (l, r) of Q_Y with z = (· − ρx)/σ: P = Φ(z_r) − Φ(z_l) and
    E[Y; cell] = ρx·P + σ·(φ(z_l) − φ(z_r)). Each threshold's Φ is taken on the side where it is
    small, so cell masses in either tail keep their relative precision.
    """
    mean = rho * x
    if abs(rho) == 1:
        level = codebook_y.quantize(mean)
        return level, mean * level, level * level
    spread = mpmath.sqrt(1 - rho * rho)
    # Per threshold: (Φ(z), 1 − Φ(z), φ(z)), each small one computed directly.
    edges = [(mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(0))]
    for threshold in codebook_y.thresholds:
        z = (threshold - mean) / spread
        if z < 0:
            below = mpmath.ncdf(z)
            edges.append((below, 1 - below, _density(z)))
        else:
            above = mpmath.ncdf(-z)
            edges.append((1 - above, above, _density(z)))
    edges.append((mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(0)))
    q = g = h = mpmath.mpf(0)
    for j, level in enumerate(codebook_y.levels):
        (below_left, above_left, density_left) = edges[j]
        (below_right, above_right, density_right) = edges[j + 1]
        small_side_is_above = above_left <= below_left
        mass = above_left - above_right if small_side_is_above else below_right - below_left
        first = mean * mass + spread * (density_left - density_right)
        q += level * mass
        g += level * first
        h += level * level * mass
    return q, g, h


_GAUSS_LEGENDRE = GaussLegendre(mpmath.mp)
_FIRST_DEGREE, _LAST_DEGREE = 3, 11  # 12 to 3072 nodes per piece


def _integrate(integrand, left: mpmath.mpf, right: mpmath.mpf) -> list[mpmath.mpf]:
    """∫_left^right of a vector-valued integrand by Gauss–Legendre quadrature, doubling the number
    of nodes until two successive rules agree to the working precision (relative to the size of
    the integral, with 1 as the smallest scale)."""
    prec = mpmath.mp.prec
    tolerance = mpmath.ldexp(1, 12 - prec)
    previous = None
    for degree in range(_FIRST_DEGREE, _LAST_DEGREE + 1):
        totals = None
        for node, weight in _GAUSS_LEGENDRE.get_nodes(left, right, degree, prec):
            values = integrand(node)
            if totals is None:
                totals = [weight * value for value in values]
            else:
                totals = [
                    total + weight * value for total, value in zip(totals, values, strict=True)
                ]
        if previous is not None and all(
            abs(now - before) <= tolerance * max(1, abs(now))
            for now, before in zip(totals, previous, strict=True)
        ):
            return totals
        previous = totals
    raise ArithmeticError(
        f"Gauss–Legendre quadrature on [{mpmath.nstr(left, 8)}, {mpmath.nstr(right, 8)}] did not "
        f"converge with {3 * 2 ** (_LAST_DEGREE - 1)} nodes"
    )


def _truncation_point() -> mpmath.mpf:
    """x_max with (1 + x²)·φ(x) < eps·2^-20 for |x| ≥ x_max at the working precision."""
    x_max = mpmath.sqrt(2 * (mpmath.mp.prec + 20) * mpmath.ln(2)) + 1
    while (1 + x_max**2) * _density(x_max) >= mpmath.ldexp(1, -mpmath.mp.prec - 20):
        x_max += 1
    return x_max


def _pieces(
    codebook_x: ScalarCodebook, codebook_y: ScalarCodebook, rho: mpmath.mpf, left_end: mpmath.mpf
) -> list[tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]]:
    """(left, right, level of Q_X) pieces covering [left_end, x_max] on which the integrands are
    smooth on the scale of the piece: split at the thresholds of Q_X; where ρx meets a threshold s
    of Q_Y, the conditional law of Y crosses s over a width w = √(1 − ρ²)/|ρ| in x, so split at
    s/ρ and at s/ρ ± w·2^j (j = 0, 1, …) out to unit distance; no piece is longer than 1."""
    x_max = _truncation_point()
    breaks = {left_end, x_max, *codebook_x.thresholds}
    if rho != 0:
        width = mpmath.sqrt(1 - rho * rho) / abs(rho)
        for threshold in codebook_y.thresholds:
            centre = threshold / rho
            breaks.add(centre)
            offset = width
            while 0 < offset < 1:
                breaks.update((centre - offset, centre + offset))
                offset *= 2
    points = sorted(b for b in breaks if left_end <= b <= x_max)
    refined = [points[0]]
    for right in points[1:]:
        left = refined[-1]
        steps = int(mpmath.ceil(right - left))
        refined.extend(left + (right - left) * i / steps for i in range(1, steps))
        refined.append(right)
    return [
        (left, right, codebook_x.quantize((left + right) / 2))
        for left, right in itertools.pairwise(refined)
        if left < right
    ]


def _product_error_moments_at_working_precision(
    codebook_x: ScalarCodebook, codebook_y: ScalarCodebook, rho: mpmath.mpf
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(E[D²], E[D]) at the working precision (see the module docstring)."""
    symmetric = _is_symmetric(codebook_x) and _is_symmetric(codebook_y)
    x_max = _truncation_point()
    left_end = mpmath.mpf(0) if symmetric else -x_max
    cross_total = product_total = mpmath.mpf(0)
    for left, right, level in _pieces(codebook_x, codebook_y, rho, left_end):

        def integrand(x: mpmath.mpf, level: mpmath.mpf = level) -> tuple[mpmath.mpf, mpmath.mpf]:
            q, g, h = _conditional_moments_at_working_precision(x, codebook_y, rho)
            density = _density(x)
            return density * (2 * level * x * g - level * level * h), density * level * q

        cross, product = _integrate(integrand, left, right)
        cross_total += cross
        product_total += product
    if symmetric:  # both integrands are even in x
        cross_total, product_total = 2 * cross_total, 2 * product_total
    return 1 + 2 * rho * rho - cross_total, rho - product_total


def _is_symmetric(codebook: ScalarCodebook) -> bool:
    """Levels and thresholds mirror exactly about 0."""
    # a + b == 0 exactly iff b = −a (a nonzero sum never rounds to zero; −b itself would round
    # to the working precision).
    levels, thresholds = codebook.levels, codebook.thresholds
    return all(a + b == 0 for a, b in zip(levels, reversed(levels), strict=True)) and all(
        s + t == 0 for s, t in zip(thresholds, reversed(thresholds), strict=True)
    )


@checks_digits
def product_error_moments(
    codebook_x: ScalarCodebook,
    codebook_y: ScalarCodebook,
    rho: object,
    digits: int = DEFAULT_DIGITS,
) -> ProductErrorMoments:
    """Exact E[D²] and E[D], D = XY − Q_X(X)·Q_Y(Y), for a standard Gaussian pair (theory.md §2.4).

    The codebooks' levels and thresholds are taken at their exact (binary) values; ``rho`` exactly,
    in [−1, 1]. At ρ = 0 with a symmetric codebook E[D] = −E[Q_X(X)]·E[Q_Y(Y)] = 0 exactly.

    The sign quantizer ±√(2/π) on independent inputs: E[D²] = E[X²]E[Y²] − 2(E|X|√(2/π))² +
    (2/π)² = 1 − (2/π)², E[D] = 0.

    >>> from quantmm.reference import to_decimal
    >>> root = mpmath.sqrt(2 / mpmath.pi)
    >>> sign = ScalarCodebook((-root, root), (mpmath.mpf(0),), "sign")
    >>> moments = product_error_moments(sign, sign, 0, digits=12)
    >>> to_decimal(moments.second_moment, 12), moments.mean
    ('0.594715265431', mpf('0.0'))
    """
    rho_exact = exact_real(rho, "rho", minimum=-1, maximum=1)
    for name, codebook in (("codebook_x", codebook_x), ("codebook_y", codebook_y)):
        if not isinstance(codebook, ScalarCodebook):
            raise ValueError(f"{name} must be a ScalarCodebook, got {type(codebook).__name__}")
    mean_is_zero = rho_exact == 0 and (_is_symmetric(codebook_x) or _is_symmetric(codebook_y))

    def evaluate() -> tuple[mpmath.mpf, ...]:
        second_moment, mean = _product_error_moments_at_working_precision(
            codebook_x, codebook_y, to_mpf(rho_exact)
        )
        return (second_moment,) if mean_is_zero else (second_moment, mean)

    values = certified_values(evaluate, digits, "product_error_moments")
    return ProductErrorMoments(values[0], mpmath.mpf(0) if mean_is_zero else values[1])


def _mean_squared_error_at_working_precision(codebook: ScalarCodebook) -> mpmath.mpf:
    """E[(X − Q(X))²] for X ~ N(0, 1), cell by cell in closed form:
    E[X²; (l, r)] = P + l·φ(l) − r·φ(r), E[X; (l, r)] = φ(l) − φ(r)."""
    total = mpmath.mpf(0)
    for level, (left, right) in zip(codebook.levels, codebook.cells(), strict=True):
        mass = _normal_mass(left, right)
        left_term = left * mpmath.npdf(left) if mpmath.isfinite(left) else 0
        right_term = right * mpmath.npdf(right) if mpmath.isfinite(right) else 0
        second = mass + left_term - right_term
        first = mpmath.npdf(left) - mpmath.npdf(right)
        total += second - 2 * level * first + level * level * mass
    return total


@checks_digits
def mean_squared_error(codebook: ScalarCodebook, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """E[(X − Q(X))²] for X ~ N(0, 1): the plain MSE of a codebook (theory.md §2.4).

    >>> from quantmm.reference import to_decimal
    >>> root = mpmath.sqrt(2 / mpmath.pi)
    >>> sign = ScalarCodebook((-root, root), (mpmath.mpf(0),), "sign")
    >>> to_decimal(mean_squared_error(sign, digits=12), 12)  # 1 − 2/π
    '0.363380227632'
    """
    if not isinstance(codebook, ScalarCodebook):
        raise ValueError(f"codebook must be a ScalarCodebook, got {type(codebook).__name__}")
    return certified(
        lambda: _mean_squared_error_at_working_precision(codebook), digits, "mean_squared_error"
    )
