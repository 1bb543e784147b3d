"""The distortion-rate function of Gaussian matrix multiplication (Ordentlich–Polyanskiy).

theory.md §1.1–§1.2. For A (n x a) and B (n x b) with iid N(0, 1) entries, each compressed to R bits
per entry, the smallest normalized distortion E||AᵀB − C||²_F / (n·a·b) is Γ(R):

    φ(R) = 2·2^(−2R) − 2^(−4R) = 1 − (1 − 2^(−2R))²
    R*   = the positive root of 2^(2R) = 1 + 4R·ln 2               (≈ 0.906, [paper])
    Γ(R) = φ(R)                          for R ≥ R*
    Γ(R) = 1 − (R/R*)·(1 − φ(R*))        for 0 ≤ R < R*   (time sharing, κ = R/R*)

Each public function takes its real arguments exactly (see :mod:`quantmm.reference.precision`) and
returns an :class:`mpmath.mpf` certified to ``digits`` significant decimal digits. The private
``_..._at_working_precision`` helpers evaluate the plain definitions at mpmath's current precision.

The power 2^(−2R) is taken from the *exact* rate: with 2R = n + f, n = ⌊2R⌋ an integer and
0 <= f < 1, 2^(−2R) = 2^(−n)·2^(−f), where 2^(−n) is exact (:func:`mpmath.ldexp`) and only 2^(−f)
is rounded. Rounding R first would put an error of R·2^(−prec) into the exponent, so at rate 10^400
no working precision could certify a digit of Γ(R) = 2^(−2R)·(2 − 2^(−2R)); this way every
accepted rate (up to 10^1001, see :data:`~quantmm.reference.precision.MAX_DECIMAL_EXPONENT`) is.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

from .precision import DEFAULT_DIGITS, certified, checks_digits, exact_real, to_mpf

__all__ = [
    "critical_rate",
    "gamma",
    "gamma_derivative",
    "gamma_inverse",
    "one_sided",
    "phi",
    "time_sharing_fraction",
    "unequal_rates",
]


# ---------------------------------------------------------------------------------------------
# Definitions at mpmath's current working precision (no validation, no certification).
# ---------------------------------------------------------------------------------------------


def _two_pow_minus_2r(rate: mpmath.mpf) -> mpmath.mpf:
    """2^(−2R), the single-letter Gaussian distortion at rate R, for a rate already rounded to the
    working precision (R/κ in :func:`_unequal_rates_at_working_precision`, R* itself)."""
    return mpmath.power(2, -2 * rate)


def _two_pow_minus_2r_exact(rate: Fraction) -> mpmath.mpf:
    """2^(−2R) for an exact rate R >= 0: 2^(−⌊2R⌋) exactly times 2^(−f), f = 2R − ⌊2R⌋ in [0, 1)
    (the only rounded factor), so the result has a relative error of a few ulps for every R,
    however large (theory.md §1.1)."""
    twice = 2 * rate
    whole = twice.numerator // twice.denominator
    fraction = twice - whole
    single = mpmath.mpf(1) if fraction == 0 else mpmath.power(2, -to_mpf(fraction))
    return mpmath.ldexp(single, -whole)


def _one_minus_two_pow_minus_2r_exact(rate: Fraction) -> mpmath.mpf:
    """1 − 2^(−2R) for an exact rate R >= 0, without cancellation: as −expm1(−2R·ln 2) below
    R = 1/2 (where 2^(−2R) is close to 1), else as 1 − 2^(−2R) with 2^(−2R) <= 1/2."""
    if 2 * rate < 1:
        return -mpmath.expm1(-2 * to_mpf(rate) * mpmath.ln(2))
    return 1 - _two_pow_minus_2r_exact(rate)


def _phi_at_working_precision(rate: mpmath.mpf) -> mpmath.mpf:
    """φ(R) = 2·2^(−2R) − 2^(−4R) (theory.md §1.1), for a rounded rate (R* itself)."""
    single = _two_pow_minus_2r(rate)
    return 2 * single - single * single


def _phi_exact_rate(rate: Fraction) -> mpmath.mpf:
    """φ(R) = s·(2 − s), s = 2^(−2R), for an exact rate (a product of positive factors)."""
    single = _two_pow_minus_2r_exact(rate)
    return single * (2 - single)


def _critical_rate_at_working_precision() -> mpmath.mpf:
    """R*: the positive root of 2^(2R) − 1 − 4R·ln 2, bracketed in [1/2, 1].

    The function is convex with roots 0 and R*; it is negative at 1/2 and positive at 1.
    """
    ln2 = mpmath.ln(2)

    def excess(rate: mpmath.mpf) -> mpmath.mpf:
        return mpmath.expm1(2 * rate * ln2) - 4 * rate * ln2

    return mpmath.findroot(excess, (mpmath.mpf(1) / 2, mpmath.mpf(1)), solver="anderson")


def _gamma_at_working_precision(rate: Fraction) -> mpmath.mpf:
    """Γ(R) from its two branches (theory.md §1.1), for an exact rate. The branch is chosen on
    the rounded rate; near R* both branches agree to first order (Γ is C¹ there)."""
    critical = _critical_rate_at_working_precision()
    if to_mpf(rate) >= critical:
        return _phi_exact_rate(rate)
    return 1 - (to_mpf(rate) / critical) * (1 - _phi_at_working_precision(critical))


def _phi_derivative_exact_rate(rate: Fraction) -> mpmath.mpf:
    """φ'(R) = −4·ln 2 · 2^(−2R) · (1 − 2^(−2R)), for an exact rate."""
    return (
        -4 * mpmath.ln(2) * _two_pow_minus_2r_exact(rate) * _one_minus_two_pow_minus_2r_exact(rate)
    )


def _gamma_derivative_at_working_precision(rate: Fraction) -> mpmath.mpf:
    critical = _critical_rate_at_working_precision()
    if to_mpf(rate) >= critical:
        return _phi_derivative_exact_rate(rate)
    return -(1 - _phi_at_working_precision(critical)) / critical


def _gamma_inverse_at_working_precision(
    distortion: mpmath.mpf, complement: mpmath.mpf
) -> mpmath.mpf:
    """The rate R with Γ(R) = D, for 0 < D < 1; ``complement`` is 1 − D, rounded from its exact
    value (not computed as 1 − D, which would cancel for D near 1).

    Above Γ(R*) invert the straight branch; below it solve φ(R) = D, i.e.
    2^(−2R) = 1 − √(1 − D) = D / (1 + √(1 − D)) (the second form has no cancellation).
    """
    critical = _critical_rate_at_working_precision()
    single_at_critical = _two_pow_minus_2r(critical)
    if distortion >= _phi_at_working_precision(critical):
        return critical * complement / (1 - single_at_critical) ** 2
    single = distortion / (1 + mpmath.sqrt(complement))
    return -mpmath.log(single, 2) / 2


def _optimal_fraction_at_working_precision(rate_a: mpmath.mpf, rate_b: mpmath.mpf) -> mpmath.mpf:
    """The κ in (0, 1] maximizing κ·(1 − 2^(−2R_a/κ))·(1 − 2^(−2R_b/κ)), both rates > 0.

    With s = 1/κ and e(u) = u/(e^u − 1), the logarithmic derivative in s of the objective is
    (e(c·R_a·s) + e(c·R_b·s) − 1)/s, c = 2·ln 2. e is strictly decreasing from 1 to 0, so the
    bracket is strictly decreasing in s and the maximum over s > 0 is its unique root s₀ (derived
    here; proofs/ records it). Over κ ≤ 1 the maximizer is κ = 1 if s₀ ≤ 1, else κ = 1/s₀.
    """
    c = 2 * mpmath.ln(2)

    def slope(s: mpmath.mpf) -> mpmath.mpf:
        u_a, u_b = c * rate_a * s, c * rate_b * s
        return u_a / mpmath.expm1(u_a) + u_b / mpmath.expm1(u_b) - 1

    if slope(mpmath.mpf(1)) <= 0:
        return mpmath.mpf(1)
    upper = mpmath.mpf(2)
    while slope(upper) > 0:
        upper *= 2
    root = mpmath.findroot(slope, (upper / 2, upper), solver="anderson")
    return 1 / root


def _unequal_rates_at_working_precision(rate_a: Fraction, rate_b: Fraction) -> mpmath.mpf:
    """1 − κ·(1 − s_a)(1 − s_b) with s = 2^(−2R/κ), written as (1 − κ) + κ·(s_a + s_b − s_a·s_b):
    a sum of non-negative terms, so it does not cancel when D is tiny (large rates). With κ = 1
    (always so once either rate is large) s is taken from the exact rate."""
    if rate_a == 0 or rate_b == 0:
        return mpmath.mpf(1)
    fraction = _optimal_fraction_at_working_precision(to_mpf(rate_a), to_mpf(rate_b))
    if fraction == 1:
        single_a, single_b = _two_pow_minus_2r_exact(rate_a), _two_pow_minus_2r_exact(rate_b)
    else:
        single_a = _two_pow_minus_2r(to_mpf(rate_a) / fraction)
        single_b = _two_pow_minus_2r(to_mpf(rate_b) / fraction)
    return (1 - fraction) + fraction * (single_a + single_b - single_a * single_b)


# ---------------------------------------------------------------------------------------------
# Public, certified functions.
# ---------------------------------------------------------------------------------------------


def _rate(value: object, name: str = "rate") -> Fraction:
    return exact_real(value, name, minimum=0)


@checks_digits
def phi(rate: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """φ(R) = 2·2^(−2R) − 2^(−4R): distortion of describing every coordinate at rate R.

    theory.md §1.1 (OP). ``rate`` in bits per entry, ``rate >= 0``.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(phi(1, digits=10), 10)
    '0.4375000000'
    """
    exact = _rate(rate)
    return certified(lambda: _phi_exact_rate(exact), digits, "phi")


@checks_digits
def critical_rate(digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """R* ≈ 0.906: the positive root of 2^(2R) = 1 + 4R·ln 2 (theory.md §1.1).

    OP's phase transition: below R* the optimal scheme time-shares.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(critical_rate(digits=20), 20)
    '0.90632353695155078776'
    """
    return certified(_critical_rate_at_working_precision, digits, "critical_rate")


@checks_digits
def gamma(rate: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """Γ(R): the distortion-rate function of iid Gaussian AᵀB (theory.md §1.1, OP).

    Γ(R) = φ(R) for R ≥ R*, and 1 − (R/R*)·(1 − φ(R*)) below R* (time sharing).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(gamma("0.5", digits=20), 20)
    '0.71770584493163255336'
    >>> to_decimal(gamma(1, digits=5), 5)
    '0.43750'
    """
    exact = _rate(rate)
    return certified(lambda: _gamma_at_working_precision(exact), digits, "gamma")


@checks_digits
def gamma_derivative(rate: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """Γ'(R) (theory.md §1.1). Γ is C¹, so the two branches agree at R*; at R = 0 this is the
    right derivative −(1 − φ(R*))/R*.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(gamma_derivative(0, digits=15), 15)
    '-0.564588310136735'
    """
    exact = _rate(rate)
    return certified(
        lambda: _gamma_derivative_at_working_precision(exact), digits, "gamma_derivative"
    )


@checks_digits
def gamma_inverse(distortion: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """The rate R (bits per entry) at which Γ(R) = D, for 0 < D ≤ 1 (theory.md §1.1).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(gamma_inverse("7/16", digits=10), 10)
    '1.000000000'
    """
    exact = exact_real(distortion, "distortion", minimum=0, minimum_inclusive=False, maximum=1)
    if exact == 1:
        return mpmath.mpf(0)  # Γ(0) = 1: no bits needed
    return certified(
        lambda: _gamma_inverse_at_working_precision(to_mpf(exact), to_mpf(1 - exact)),
        digits,
        "gamma_inverse",
    )


@checks_digits
def time_sharing_fraction(rate: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """κ(R) = min(R/R*, 1): the fraction of coordinates the optimal scheme describes.

    Below R* the optimal scheme describes a fraction κ of the coordinates at rate R* and outputs 0
    for the rest (theory.md §1.1; OP: Johnson–Lindenstrauss sketching).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(time_sharing_fraction(2, digits=5), 5)
    '1.0000'
    """
    exact = _rate(rate)
    if exact == 0:
        return mpmath.mpf(0)  # nothing is described at rate 0

    def evaluate() -> mpmath.mpf:
        return min(to_mpf(exact) / _critical_rate_at_working_precision(), mpmath.mpf(1))

    return certified(evaluate, digits, "time_sharing_fraction")


@checks_digits
def one_sided(rate: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """2^(−2R): the distortion when B is known to the decoder (theory.md §1.2, [derived]).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(one_sided(1, digits=5), 5)
    '0.25000'
    """
    exact = _rate(rate)
    return certified(lambda: _two_pow_minus_2r_exact(exact), digits, "one_sided")


@checks_digits
def unequal_rates(rate_a: object, rate_b: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """D(R_a, R_b) = 1 − sup_{0<κ≤1} κ·(1 − 2^(−2R_a/κ))·(1 − 2^(−2R_b/κ)) (theory.md §1.2).

    The supremum is found exactly: its maximizer is the root of a strictly monotone equation (see
    ``_optimal_fraction_at_working_precision``), solved at the working precision, not on a grid.
    D(R, R) = Γ(R); D = 1 when either rate is 0.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(unequal_rates(1, 1, digits=5), 5)
    '0.43750'
    """
    exact_a = _rate(rate_a, "rate_a")
    exact_b = _rate(rate_b, "rate_b")
    return certified(
        lambda: _unequal_rates_at_working_precision(exact_a, exact_b),
        digits,
        "unequal_rates",
    )
