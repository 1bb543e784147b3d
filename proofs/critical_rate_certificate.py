"""Certificate: R* is the unique positive root of 2^(2R) = 1 + 4R ln 2, and what quantmm prints.

theory.md §1.1; derivation in ``distortion_rate.md`` ("The critical rate"). The enclosure
[R_low, R_high] has exact rational endpoints 2·10^(−60) apart; the facts prove that f changes
sign across it, that f' > 0 there, and that f has no other positive root. Then the digits
``quantmm value critical_rate --digits d`` prints (d = 15, 30, 40) are proved to be the correct
rounding of every point of the enclosure, so of R* itself.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from fractions import Fraction

from .balls import arb_precision
from .intervals import (
    CertificateFailure,
    Fact,
    certainly_contains,
    describe,
    interval,
    precision,
    rounds_to,
)
from .rate_functions import critical_rate
from .runner import Certificate

__all__ = [
    "CERTIFICATES",
    "printed_critical_rate",
    "prove_critical_rate",
    "prove_critical_rate_by_lambert_w",
]

#: The widest enclosure the issue accepts.
MAXIMUM_WIDTH = Fraction(1, 10**40)


def printed_critical_rate(digits: int) -> str:
    """What ``quantmm value critical_rate --digits <digits>`` prints (run in this process).

    >>> printed_critical_rate(6)
    '0.906324'
    """
    from quantmm.cli import main

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(["value", "critical_rate", "--digits", str(digits)])
    if status != 0:
        raise CertificateFailure(f"quantmm value critical_rate --digits {digits} exited {status}")
    return output.getvalue().strip()


def prove_critical_rate(
    printed: Callable[[int], str] = printed_critical_rate,
    digits_checked: Sequence[int] = (15, 30, 40),
    enclosure_digits: int = 60,
) -> list[Fact]:
    """Enclose R* (width < 10^(−40)) and prove the printed digits are its correct rounding.

    ``printed(d)`` returns the decimal text to check for ``d`` digits (default: the CLI's output).
    """
    rate = critical_rate(enclosure_digits)
    width = rate.high - rate.low
    if not width < MAXIMUM_WIDTH:
        raise CertificateFailure(f"the enclosure of R* is {float(width):.2g} wide, not < 1e-40")
    facts = [
        *rate.facts,
        Fact(
            f"R* ∈ [R_low, R_high], width {float(width):.1e} < 1e-40",
            describe(rate.enclosure, 50),
        ),
    ]
    for digits in digits_checked:
        text = printed(digits)
        facts.append(
            rounds_to(
                rate.enclosure,
                text,
                f"`quantmm value critical_rate --digits {digits}` prints {text}, the correct "
                "rounding of R*",
            )
        )
    return facts


def prove_critical_rate_by_lambert_w(branch: int = -1) -> list[Fact]:
    """Cross-check: arb's R* = (−1/2 − W₋₁(−1/(2√e)))/(2 ln 2) lies in the iv enclosure.

    The closed form is derived in ``distortion_rate.md``; arb (python-flint) evaluates the Lambert
    W branch with a proved error bound. ``branch=0`` gives the trivial root R = 0 and must fail.
    """
    with arb_precision(400) as flint, precision(400):
        argument = -1 / (2 * flint.arb(1).exp().sqrt())
        closed_form = (-flint.arb(1) / 2 - argument.lambertw(branch)) / (2 * flint.arb(2).log())
        ball = interval(closed_form)
        enclosure = critical_rate().enclosure
        return [
            Fact(
                "arb encloses the Lambert-W closed form of R* in a ball",
                describe(ball, 50),
            ),
            certainly_contains(
                enclosure,
                ball,
                f"the arb ball (W branch {branch}) lies inside the iv enclosure of R*: the two "
                "independent computations agree",
            ),
        ]


CERTIFICATES = (
    Certificate(
        "critical_rate",
        "R* is the unique positive root of 2^(2R) = 1 + 4R ln 2; the printed digits are right",
        "distortion_rate.md",
        prove_critical_rate,
    ),
    Certificate(
        "critical_rate_lambert_w",
        "R* by the Lambert-W closed form in arb lies in the interval enclosure (arb vs iv)",
        "distortion_rate.md",
        prove_critical_rate_by_lambert_w,
    ),
)
