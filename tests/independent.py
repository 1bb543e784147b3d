"""Independent computations that the tests hold the reference against.

Nothing here imports quantmm: each value is computed another way than the reference computes it
(a closed form through Lambert's W, exact rationals, the plain definition at higher precision).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath


def critical_rate_lambert(dps: int) -> mpmath.mpf:
    """R* in closed form: with u = 2R·ln 2, e^u = 1 + 2u has the positive root
    u = −1/2 − W₋₁(−1/(2√e)) (substitute v = u + 1/2: −v·e^(−v) = −e^(−1/2)/2)."""
    with mpmath.workdps(dps):
        u = -mpmath.mpf(1) / 2 - mpmath.re(mpmath.lambertw(-1 / (2 * mpmath.sqrt(mpmath.e)), -1))
        return +(u / (2 * mpmath.ln(2)))


def phi_definition(rate: mpmath.mpf) -> mpmath.mpf:
    """φ(R) = 1 − (1 − 2^(−2R))², the second form of theory.md §1.1."""
    return 1 - (1 - mpmath.power(2, -2 * rate)) ** 2


def gamma_lambert(rate: Fraction | mpmath.mpf, dps: int) -> mpmath.mpf:
    """Γ(R) from the Lambert-W R* and the form φ = 1 − (1 − 2^(−2R))²."""
    critical = critical_rate_lambert(dps + 10)
    with mpmath.workdps(dps):
        if isinstance(rate, Fraction):
            rate_mp = mpmath.mpf(rate.numerator) / rate.denominator
        else:
            rate_mp = +rate
        if rate_mp >= critical:
            return +phi_definition(rate_mp)
        return +(1 - rate_mp / critical * (1 - phi_definition(critical)))
