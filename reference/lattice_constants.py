"""Exact lattice constants: normalized second moments and the sphere and ball bounds.

theory.md §1.4. The normalized second moment of a lattice Λ ⊂ R^d with Voronoi cell V is

    G(Λ) = E||U||² / (d · vol(V)^(2/d)),   U uniform on V.

The closed forms (public constants, Conway & Sloane, *Sphere Packings, Lattices and Groups*,
ch. 21) are kept here exactly, as a rational times the square root of an integer:

    Z: 1/12,  A2: 5/(36√3) = 5√3/108,  D4: 13/(120√2) = 13√2/240,  E8: 929/12960.

At high rate a lattice quantizer costs a factor 2πe·G in mean squared error over the ideal
(Gaussian-noise) quantizer: 10·log10(2πe·G) dB. The d-dimensional ball has the smallest G of any
cell in R^d (the ball bound), and its G decreases to the sphere bound 1/(2πe) as d → ∞.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath

from .precision import DEFAULT_DIGITS, certified, checks_digits, exact_integer, to_mpf

__all__ = [
    "LATTICES",
    "QuadraticSurd",
    "ball_bound",
    "lattice_loss_db",
    "normalized_second_moment",
    "normalized_second_moment_exact",
    "sphere_bound",
]


@dataclass(frozen=True)
class QuadraticSurd:
    """The exact real number ``rational * sqrt(radicand)`` (``radicand`` a square-free integer)."""

    rational: Fraction
    radicand: int

    def __str__(self) -> str:
        if self.radicand == 1:
            return str(self.rational)
        numerator, denominator = self.rational.numerator, self.rational.denominator
        return f"{numerator}*sqrt({self.radicand})/{denominator}"

    def at_working_precision(self) -> mpmath.mpf:
        """The value at mpmath's current working precision."""
        return to_mpf(self.rational) * mpmath.sqrt(self.radicand)


_NSM: dict[str, tuple[int, QuadraticSurd]] = {
    "Z": (1, QuadraticSurd(Fraction(1, 12), 1)),
    "A2": (2, QuadraticSurd(Fraction(5, 108), 3)),
    "D4": (4, QuadraticSurd(Fraction(13, 240), 2)),
    "E8": (8, QuadraticSurd(Fraction(929, 12960), 1)),
}

#: The lattices with a stored normalized second moment, and their dimensions.
LATTICES: dict[str, int] = {name: dimension for name, (dimension, _) in _NSM.items()}


def _lattice(lattice: object) -> str:
    """Canonical lattice name (case-insensitive; ``Z1`` is accepted for ``Z``)."""
    if isinstance(lattice, str):
        key = lattice.strip().upper()
        key = "Z" if key == "Z1" else key
        if key in _NSM:
            return key
    raise ValueError(f"lattice must be one of {', '.join(_NSM)}, got {lattice!r}")


def normalized_second_moment_exact(lattice: str) -> QuadraticSurd:
    """The exact G(Λ) for ``lattice`` in Z, A2, D4, E8.

    >>> str(normalized_second_moment_exact("A2"))
    '5*sqrt(3)/108'
    >>> str(normalized_second_moment_exact("E8"))
    '929/12960'
    """
    return _NSM[_lattice(lattice)][1]


@checks_digits
def normalized_second_moment(lattice: str, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """G(Λ) for ``lattice`` in Z, A2, D4, E8, certified to ``digits`` digits.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(normalized_second_moment("E8", digits=12), 12)
    '0.0716820987654'
    """
    exact = normalized_second_moment_exact(lattice)
    return certified(exact.at_working_precision, digits, "normalized_second_moment")


@checks_digits
def lattice_loss_db(lattice: str, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """10·log10(2πe·G(Λ)): the high-rate MSE loss of ``lattice`` against the ideal quantizer, in dB.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(lattice_loss_db("Z", digits=6), 6)
    '1.53293'
    """
    exact = normalized_second_moment_exact(lattice)

    def evaluate() -> mpmath.mpf:
        return 10 * mpmath.log10(2 * mpmath.pi * mpmath.e * exact.at_working_precision())

    return certified(evaluate, digits, "lattice_loss_db")


@checks_digits
def sphere_bound(digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """1/(2πe): the limit of the ball bound as the dimension grows; no lattice's G is below it.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(sphere_bound(digits=10), 10)
    '0.05854983152'
    """
    return certified(lambda: 1 / (2 * mpmath.pi * mpmath.e), digits, "sphere_bound")


@checks_digits
def ball_bound(dimension: int, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """G of the d-dimensional ball, Γ(d/2 + 1)^(2/d) / ((d + 2)·π): no cell in R^d does better.

    It equals 1/12 at d = 1 (an interval is a ball).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(ball_bound(1, digits=8), 8)
    '0.083333333'
    """
    d = exact_integer(dimension, "dimension")

    def evaluate() -> mpmath.mpf:
        return mpmath.gamma(mpmath.mpf(d) / 2 + 1) ** (mpmath.mpf(2) / d) / ((d + 2) * mpmath.pi)

    return certified(evaluate, digits, "ball_bound")
