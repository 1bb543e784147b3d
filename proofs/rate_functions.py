"""Interval enclosures of φ, ψ, their derivatives and R* (theory.md §1.1), from the formulas.

With s = 2^(−2R) ∈ (0, 1] and c = 2 ln 2 (so ds/dR = −c·s), derived in ``distortion_rate.md``:

    φ(R) = 2s − s²,   φ'(R) = −2c·s(1 − s),   φ''(R) = 2c²·s(1 − 2s)
    ψ(R) = 1 − φ(R) = (1 − s)²,   ψ' = −φ',   ψ'' = −φ''
    R* = the positive root of f(R) = 2^(2R) − 1 − 4R ln 2

s is decreasing in R, so over a cell [a, b] it is enclosed by its values at the two endpoints
(:func:`s_over`); this keeps s = 1/2 exact at R = 1/2, where ψ'' changes sign. Nothing here calls
:mod:`quantmm.reference`: the certificates compare the reference against these enclosures.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import mpmath
from mpmath import iv

from .intervals import (
    Fact,
    certainly_below,
    certainly_negative,
    certainly_positive,
    endpoints,
    hull,
    interval,
    precision,
)

__all__ = [
    "PRECISION_BITS",
    "CriticalRate",
    "c_constant",
    "critical_rate",
    "phi",
    "phi_derivative",
    "phi_second_derivative",
    "psi",
    "psi_derivative",
    "psi_second_derivative",
    "s_over",
    "tangency_residual",
]

#: Working precision of the §1.1 certificates (bits); about 90 decimal digits.
PRECISION_BITS = 300


def c_constant() -> iv.mpf:
    """c = 2 ln 2, the rate of decay of s = 2^(−2R) = e^(−cR)."""
    return 2 * iv.log(2)


def s_over(cell: object) -> iv.mpf:
    """Enclosure of s = 2^(−2R) over a point or a cell of R (s is decreasing in R).

    >>> with precision(60):
    ...     endpoints(s_over(Fraction(1, 2)))[0] == mpmath.mpf(0.5)
    True
    """
    low, high = endpoints(interval(cell))
    two = iv.mpf(2)
    return hull([two ** (-2 * iv.mpf(high)), two ** (-2 * iv.mpf(low))])


def phi(s: iv.mpf) -> iv.mpf:
    """φ = 2s − s² = s(2 − s), as a function of s."""
    return s * (2 - s)


def psi(s: iv.mpf) -> iv.mpf:
    """ψ = (1 − s)², as a function of s."""
    return (1 - s) ** 2


def phi_derivative(s: iv.mpf) -> iv.mpf:
    """dφ/dR = −2c·s(1 − s)."""
    return -2 * c_constant() * s * (1 - s)


def psi_derivative(s: iv.mpf) -> iv.mpf:
    """dψ/dR = 2c·s(1 − s)."""
    return 2 * c_constant() * s * (1 - s)


def phi_second_derivative(s: iv.mpf) -> iv.mpf:
    """d²φ/dR² = 2c²·s(1 − 2s)."""
    return 2 * c_constant() ** 2 * s * (1 - 2 * s)


def psi_second_derivative(s: iv.mpf) -> iv.mpf:
    """d²ψ/dR² = 2c²·s(2s − 1)."""
    return 2 * c_constant() ** 2 * s * (2 * s - 1)


def _defining_function(rate: object) -> iv.mpf:
    """f(R) = 2^(2R) − 1 − 4R·ln 2, whose positive root is R*."""
    rate = interval(rate)
    return iv.mpf(2) ** (2 * rate) - 1 - 4 * rate * iv.log(2)


def _defining_derivative(rate: object) -> iv.mpf:
    """f'(R) = 2 ln 2·(2^(2R) − 2)."""
    rate = interval(rate)
    return 2 * iv.log(2) * (iv.mpf(2) ** (2 * rate) - 2)


def tangency_residual(rate: iv.mpf) -> iv.mpf:
    """ψ(R) − R·ψ'(R): zero exactly at R* (the tangent from (0, 1) touches φ there)."""
    s = s_over(rate)
    return psi(s) - interval(rate) * psi_derivative(s)


class CriticalRate:
    """R* enclosed between two exact rationals, with the facts that prove the enclosure."""

    def __init__(self, low: Fraction, high: Fraction, facts: tuple[Fact, ...]) -> None:
        self.low, self.high, self.facts = low, high, facts

    @property
    def enclosure(self) -> iv.mpf:
        """[low, high] as an interval (at :data:`PRECISION_BITS`, so its width is the true one)."""
        with precision(max(iv.prec, PRECISION_BITS)):
            return hull([interval(self.low), interval(self.high)])


#: The bracket in which f changes sign and f' is certainly positive.
BRACKET = (Fraction(9, 10), Fraction(91, 100))


@functools.cache
def critical_rate(decimal_digits: int = 60) -> CriticalRate:
    """Enclose R* in an interval of width 2·10^(−decimal_digits) and prove the enclosure.

    The proof (derivation in ``distortion_rate.md``): f(0) = 0 and f'(R) = 2 ln 2·(2^(2R) − 2)
    is negative on (0, 1/2) and positive on (1/2, ∞), so f < 0 on (0, 1/2] and f has at most one
    root beyond; f(low) < 0 < f(high) with f' > 0 on the bracket puts it in [low, high].

    >>> enclosure = critical_rate(45)
    >>> float(enclosure.low), enclosure.high - enclosure.low == Fraction(2, 10**45)
    (0.9063235369515508, True)
    """
    with precision(PRECISION_BITS), mpmath.workprec(PRECISION_BITS):
        approximate = mpmath.findroot(
            lambda r: 2 ** (2 * r) - 1 - 4 * r * mpmath.log(2), mpmath.mpf("0.906")
        )
        scale = 10**decimal_digits
        centre = Fraction(int(mpmath.nint(approximate * scale)), scale)
        low, high = centre - Fraction(1, scale), centre + Fraction(1, scale)
        bracket = hull([interval(BRACKET[0]), interval(BRACKET[1])])
        facts = (
            certainly_negative(
                _defining_function(Fraction(1, 2)),
                "f(1/2) = 1 − 2 ln 2 < 0; with f(0) = 0 and f' = 2 ln 2·(2^(2R) − 2) negative "
                "on (0, 1/2), positive beyond, f has exactly one positive root, and it is > 1/2",
            ),
            certainly_positive(_defining_derivative(bracket), "f' > 0 on [9/10, 91/100]"),
            certainly_below(interval(BRACKET[0]), interval(low), "R_low > 9/10"),
            certainly_below(interval(high), interval(BRACKET[1]), "R_high < 91/100"),
            certainly_negative(
                _defining_function(low), f"f(R_low) < 0 at R_low = R̃ − 10^−{decimal_digits}"
            ),
            certainly_positive(
                _defining_function(high), f"f(R_high) > 0 at R_high = R̃ + 10^−{decimal_digits}"
            ),
        )
    return CriticalRate(low, high, facts)
