"""Precision discipline for the reference: exact inputs, certified outputs.

Every public reference function follows the same contract (DEVELOPERS.md, "reference/"):

1. Its real arguments are converted to *exact* rationals (:func:`exact_real`): an ``int``, a
   :class:`fractions.Fraction`, a decimal string such as ``"0.1"`` (meaning exactly 1/10), a
   :class:`decimal.Decimal`, or a binary ``float``/``mpmath.mpf`` (meaning exactly the binary
   value it holds). Non-finite, non-numeric and out-of-range arguments raise :class:`ValueError`
   naming the argument.
2. The quantity is evaluated from its definition at ``digits + guard`` decimal digits and again at a
   clearly higher precision (:func:`certified`). The value is returned only when both evaluations
   round to the same ``digits`` significant digits *and* differ by far less than one unit in the
   last asked digit; otherwise the guard is enlarged, and after the last attempt
   :class:`UncertifiedValueError` is raised instead of returning doubtful digits.

The returned object is an :class:`mpmath.mpf` carrying more than ``digits`` correct digits;
:func:`to_decimal` renders it with exactly ``digits`` significant digits, the same rounding the
certification compared.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Callable, Sequence
from fractions import Fraction

import mpmath

__all__ = [
    "DEFAULT_DIGITS",
    "MAX_DIGITS",
    "UncertifiedValueError",
    "certified",
    "certified_values",
    "check_digits",
    "exact_integer",
    "exact_real",
    "to_decimal",
    "to_mpf",
]

#: Significant decimal digits returned when the caller does not ask for a number.
DEFAULT_DIGITS = 30
#: The most significant digits any reference function will certify.
MAX_DIGITS = 1000
#: Guard digits of the successive attempts; the check runs at ``digits + 2*guard + 10``.
GUARD_SCHEDULE = (10, 30, 90)


class UncertifiedValueError(ArithmeticError):
    """A value could not be certified to the asked number of digits (it is never returned)."""


def check_digits(digits: object) -> int:
    """Validate a requested number of significant decimal digits.

    >>> check_digits(15)
    15
    >>> check_digits(0)
    Traceback (most recent call last):
    ...
    ValueError: digits must be an integer in [1, 1000], got 0
    """
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise ValueError(f"digits must be an integer in [1, {MAX_DIGITS}], got {digits!r}")
    if not 1 <= digits <= MAX_DIGITS:
        raise ValueError(
            f"digits must be an integer in [1, {MAX_DIGITS}], got {digits!r}"
            + (" (too high to certify)" if digits > MAX_DIGITS else "")
        )
    return int(digits)


def _to_fraction(value: object, name: str) -> Fraction:
    """Exact rational value of a real number given in any of the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got the bool {value!r}")
    if isinstance(value, Fraction | numbers.Integral):
        return Fraction(value)
    if isinstance(value, float | decimal.Decimal):
        if not math.isfinite(value) if isinstance(value, float) else not value.is_finite():
            raise ValueError(f"{name} must be finite, got {value!r}")
        return Fraction(value)
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        negative, mantissa, exponent, _ = value._mpf_  # (man_exp drops the sign)
        magnitude = Fraction(int(mantissa)) * Fraction(2) ** int(exponent)
        return -magnitude if negative else magnitude
    if isinstance(value, str):
        text = value.strip()
        try:
            result = Fraction(text)
        except (ValueError, ZeroDivisionError):
            lowered = text.lower().lstrip("+-")
            if lowered in {"nan", "inf", "infinity"}:
                raise ValueError(f"{name} must be finite, got {value!r}") from None
            raise ValueError(
                f"{name} must be a decimal or rational number such as 0.5, 1e-3 or 1/3, "
                f"got {value!r}"
            ) from None
        return result
    if isinstance(value, numbers.Real):  # numpy scalars and other registered reals
        as_float = float(value)
        if not math.isfinite(as_float):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if isinstance(value, numbers.Integral):
            return Fraction(int(value))
        return Fraction(as_float)
    raise ValueError(f"{name} must be a real number, got {type(value).__name__} {value!r}")


def exact_real(
    value: object,
    name: str,
    *,
    minimum: Fraction | int | None = None,
    minimum_inclusive: bool = True,
    maximum: Fraction | int | None = None,
    maximum_inclusive: bool = True,
) -> Fraction:
    """Convert ``value`` to an exact :class:`~fractions.Fraction` and check its range.

    The error message names the argument and states what was expected.

    >>> exact_real("0.1", "rate")
    Fraction(1, 10)
    >>> exact_real(0.5, "rate")
    Fraction(1, 2)
    >>> exact_real(-1, "rate", minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: rate must be >= 0, got -1
    """
    result = _to_fraction(value, name)
    if minimum is not None:
        below = result < minimum if minimum_inclusive else result <= minimum
        if below:
            relation = ">=" if minimum_inclusive else ">"
            raise ValueError(f"{name} must be {relation} {minimum}, got {value!r}")
    if maximum is not None:
        above = result > maximum if maximum_inclusive else result >= maximum
        if above:
            relation = "<=" if maximum_inclusive else "<"
            raise ValueError(f"{name} must be {relation} {maximum}, got {value!r}")
    return result


def exact_integer(value: object, name: str, *, minimum: int = 1) -> int:
    """Validate an integer argument (an ``int`` or a string of digits), at least ``minimum``.

    >>> exact_integer("4096", "n")
    4096
    >>> exact_integer(2.5, "n")
    Traceback (most recent call last):
    ...
    ValueError: n must be an integer >= 1, got 2.5
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got the bool {value!r}")
    if isinstance(value, numbers.Integral):
        result = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        result = int(value.strip())
    else:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if result < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return result


def to_mpf(value: Fraction) -> mpmath.mpf:
    """The exact rational ``value`` rounded to mpmath's current working precision."""
    return mpmath.mpf(value.numerator) / value.denominator


def _compare_with_power_of_ten(mantissa: int, binary_exponent: int, decimal_exponent: int) -> int:
    """Sign of mantissa·2^binary_exponent − 10^decimal_exponent, in exact integer arithmetic."""
    left, right = mantissa, 1
    if binary_exponent >= 0:
        left <<= binary_exponent
    else:
        right <<= -binary_exponent
    if decimal_exponent >= 0:
        right *= 10**decimal_exponent
    else:
        left *= 10**-decimal_exponent
    return (left > right) - (left < right)


def _round_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def _significant_digits(value: mpmath.mpf, digits: int) -> tuple[int, int]:
    """(N, e) with 10^(digits−1) <= N < 10^digits and N·10^(e − digits + 1) the value's magnitude
    rounded half-to-even to ``digits`` significant digits; exact integer arithmetic throughout
    (the binary value is mantissa·2^exponent)."""
    _, mantissa, binary_exponent, bit_count = value._mpf_
    exponent = math.floor((binary_exponent + bit_count - 1) * math.log10(2))
    while _compare_with_power_of_ten(mantissa, binary_exponent, exponent) < 0:
        exponent -= 1
    while _compare_with_power_of_ten(mantissa, binary_exponent, exponent + 1) >= 0:
        exponent += 1
    shift = digits - 1 - exponent  # N = round(magnitude · 10^shift)
    numerator, denominator = mantissa, 1
    if shift >= 0:
        numerator *= 10**shift
    else:
        denominator *= 10**-shift
    if binary_exponent >= 0:
        numerator <<= binary_exponent
    else:
        denominator <<= -binary_exponent
    rounded = _round_half_even(numerator, denominator)
    if rounded == 10**digits:  # rounding carried into a new leading digit
        return rounded // 10, exponent + 1
    return rounded, exponent


def to_decimal(value: mpmath.mpf, digits: int) -> str:
    """Render ``value`` correctly rounded to exactly ``digits`` significant decimal digits.

    The binary value is converted exactly and rounded half-to-even, with trailing zeros kept.
    Fixed notation is used when the leading digit's decimal exponent e satisfies
    −5 <= e < digits, scientific notation (``1.2446e-60``) otherwise. Zero is ``0.000…`` with
    ``digits`` zeros.

    >>> to_decimal(mpmath.mpf(7) / 16, 6)
    '0.437500'
    >>> to_decimal(mpmath.mpf(1792), 2), to_decimal(mpmath.mpf(1792), 4)
    ('1.8e+3', '1792')
    >>> to_decimal(-mpmath.mpf(2) / 3, 3), to_decimal(mpmath.mpf(0), 3)
    ('-0.667', '0.00')
    """
    check_digits(digits)
    if not isinstance(value, mpmath.mpf):  # mpf(an mpf) would round it to the global precision
        value = mpmath.mpf(value)
    if not mpmath.isfinite(value):
        raise ValueError(f"value must be finite, got {value!r}")
    if value == 0:
        return "0" if digits == 1 else "0." + "0" * (digits - 1)
    sign = "-" if value < 0 else ""
    mantissa, exponent = _significant_digits(value, digits)
    text = str(mantissa)
    if -5 <= exponent < digits:
        if exponent >= 0:
            whole, fraction = text[: exponent + 1], text[exponent + 1 :]
        else:
            whole, fraction = "0", "0" * (-exponent - 1) + text
        return sign + whole + ("." + fraction if fraction else "")
    mantissa_text = text[0] + ("." + text[1:] if digits > 1 else "")
    return f"{sign}{mantissa_text}e{exponent:+d}"


def _agree(low: mpmath.mpf, high: mpmath.mpf, digits: int, guard: int, zero_ok: bool) -> bool:
    """Both evaluations give the same rounded digits and are much closer than the last digit."""
    if not (mpmath.isfinite(low) and mpmath.isfinite(high)):
        return False
    if high == 0 or low == 0:
        # Without underflow in mpmath, a computed zero means total cancellation: it is never
        # certified, unless the caller declared zeros structural (set exactly by construction).
        return zero_ok and low == high
    if (low < 0) != (high < 0) or abs(mpmath.mag(low) - mpmath.mag(high)) > 4:
        return False  # wildly different: do not even render them (a huge exponent is costly)
    if to_decimal(low, digits) != to_decimal(high, digits):
        return False
    with mpmath.workdps(digits + 2 * guard + 10):
        relative_gap = abs(low - high) / abs(high)
        return relative_gap <= mpmath.mpf(10) ** (-(digits + guard // 2))


def certified_values(
    evaluate: Callable[[], Sequence[mpmath.mpf]],
    digits: int,
    quantity: str,
    *,
    structural_zeros: bool = False,
) -> tuple[mpmath.mpf, ...]:
    """Certify every component of a vector-valued ``evaluate()`` to ``digits`` significant digits.

    The rule of :func:`certified` applies to each component. With ``structural_zeros=True`` a
    component that is exactly zero at both precisions is accepted as an exact zero: only for
    quantities whose zeros are set by construction (the middle level of a symmetric codebook),
    never for values that could cancel.

    >>> third, half = certified_values(lambda: (mpmath.mpf(1) / 3, mpmath.mpf(1) / 2), 5, "pair")
    >>> to_decimal(third, 5), to_decimal(half, 5)
    ('0.33333', '0.50000')
    """
    digits = check_digits(digits)
    for guard in GUARD_SCHEDULE:
        with mpmath.workdps(digits + guard):
            low = tuple(+value for value in evaluate())
        with mpmath.workdps(digits + 2 * guard + 10):
            high = tuple(+value for value in evaluate())
        if len(low) == len(high) and all(
            _agree(a, b, digits, guard, structural_zeros) for a, b in zip(low, high, strict=True)
        ):
            return high
    low_digits, high_digits = digits + GUARD_SCHEDULE[-1], digits + 2 * GUARD_SCHEDULE[-1] + 10
    if any(a == 0 and b == 0 for a, b in zip(low, high, strict=False)) and not structural_zeros:
        raise UncertifiedValueError(
            f"{quantity}: evaluated to exactly 0 at {low_digits} and {high_digits} digits "
            f"(total cancellation); cannot certify {digits} significant digits"
        )
    raise UncertifiedValueError(
        f"{quantity}: could not certify {digits} significant digits "
        f"(evaluations at {low_digits} and {high_digits} digits disagree)"
    )


def certified(evaluate: Callable[[], mpmath.mpf], digits: int, quantity: str) -> mpmath.mpf:
    """Evaluate ``evaluate()`` to ``digits`` certified significant digits.

    ``evaluate`` computes the quantity at mpmath's current working precision (it is called inside
    :func:`mpmath.workdps`). The result of the higher-precision evaluation is returned once it
    agrees with the lower one (see the module docstring); otherwise
    :class:`UncertifiedValueError` names the quantity and the digits asked. A computed zero is
    never certified (in mpmath, which has no underflow, it can only come from cancellation):
    a quantity that is exactly zero for some inputs must return that zero itself.

    >>> to_decimal(certified(lambda: mpmath.pi, 20, "pi"), 20)
    '3.1415926535897932385'
    """
    return certified_values(lambda: (evaluate(),), digits, quantity)[0]
