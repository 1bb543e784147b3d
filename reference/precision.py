"""Precision discipline for the reference: exact inputs, certified outputs.

Every public reference function follows the same contract (docs/certification.md):

1. Its real arguments are converted to *exact* rationals (:func:`exact_real`): an ``int``, a
   :class:`fractions.Fraction`, a decimal string such as ``"0.1"`` (meaning exactly 1/10), a
   :class:`decimal.Decimal`, or a binary ``float``/``mpmath.mpf`` (meaning exactly the binary
   value it holds). Non-finite, non-numeric and out-of-range arguments raise :class:`ValueError`
   naming the argument. Every number must be 0 or have a decimal exponent in [−1000, 1000]
   (:data:`MAX_DECIMAL_EXPONENT`), checked from the exponent before any exact value is built, so
   ``"1e999999999"`` is refused at once instead of taking minutes to expand.
2. The quantity is evaluated from its definition at ``digits + guard`` decimal digits and again at a
   clearly higher precision (:func:`certified`). The value is returned only when both evaluations
   round to the same ``digits`` significant digits *and* differ by far less than one unit in the
   last asked digit; otherwise the guard is enlarged, and after the last attempt
   :class:`UncertifiedValueError` is raised instead of returning doubtful digits.

The returned object is an :class:`mpmath.mpf` carrying more than ``digits`` correct digits;
:func:`to_decimal` renders it with exactly ``digits`` significant digits, the same rounding the
certification compared. ``digits`` itself is checked (:func:`check_digits`) by the decorator
:func:`checks_digits` on every public function before its body runs, so no early return (an exact
zero, say) skips the check.
"""

from __future__ import annotations

import decimal
import functools
import inspect
import math
import numbers
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import ParamSpec, TypeVar

import mpmath

__all__ = [
    "DEFAULT_DIGITS",
    "MAX_DECIMAL_EXPONENT",
    "MAX_DIGITS",
    "MAX_INPUT_DIGITS",
    "CertifiedValue",
    "UncertifiedValueError",
    "certified",
    "certified_values",
    "check_digits",
    "checks_digits",
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
        raise ValueError(f"digits must be an integer in [1, {MAX_DIGITS}], got {_shown(digits)}")
    if not 1 <= digits <= MAX_DIGITS:
        raise ValueError(
            f"digits must be an integer in [1, {MAX_DIGITS}], got {_shown(digits)}"
            + (" (too high to certify)" if digits > MAX_DIGITS else "")
        )
    return int(digits)


_Parameters = ParamSpec("_Parameters")
_Result = TypeVar("_Result")


class CertifiedValue(mpmath.mpf):
    """What a public reference function returns: an ``mpmath.mpf`` (it computes like one, and
    arithmetic on it gives plain mpf) that remembers how many significant digits were certified
    and prints exactly those, correctly rounded (:func:`to_decimal`). ``repr`` is mpf's.

    >>> value = CertifiedValue(mpmath.mpf(1) / 3, 12)
    >>> print(value), f"{value}", value.digits, isinstance(value, mpmath.mpf)
    0.333333333333
    (None, '0.333333333333', 12, True)
    >>> type(value * 3) is mpmath.mpf
    True
    """

    def __new__(cls, value: mpmath.mpf, digits: int) -> CertifiedValue:
        self = mpmath.mpf.__new__(cls)
        self._mpf_ = mpmath.mpf(value)._mpf_ if not isinstance(value, mpmath.mpf) else value._mpf_
        self.digits = check_digits(digits)
        return self

    def __str__(self) -> str:
        return to_decimal(self, self.digits)

    def __format__(self, format_spec: str) -> str:
        return str(self) if not format_spec else super().__format__(format_spec)

    def __reduce__(self) -> tuple:
        return (_certified_value, (self._mpf_, self.digits))


def _certified_value(state: tuple, digits: int) -> CertifiedValue:
    """A pickled :class:`CertifiedValue` rebuilt with its exact bits (no rounding)."""
    value = mpmath.mpf(0)
    value._mpf_ = state
    return CertifiedValue(value, digits)


def _as_certified(result: object, digits: int) -> object:
    """A reference function's mpf result as a :class:`CertifiedValue`; anything else as is."""
    if isinstance(result, mpmath.mpf) and not isinstance(result, CertifiedValue):
        return CertifiedValue(result, digits)
    return result


def checks_digits(function: Callable[_Parameters, _Result]) -> Callable[_Parameters, _Result]:
    """Decorate a public function with a ``digits`` parameter: :func:`check_digits` runs on the
    ``digits`` it is called with (or its default) before the body does, and the body receives it
    as a plain ``int``. The one argument check shared by every public reference function, so an
    early return (an exact zero, an exact value at a special point) cannot skip it. An mpf result
    is returned as a :class:`CertifiedValue`, which prints its certified digits.

    >>> @checks_digits
    ... def third(digits: int = 10) -> str:
    ...     return to_decimal(mpmath.mpf(1) / 3, digits)
    >>> third(digits=5)
    '0.33333'
    >>> third(0)
    Traceback (most recent call last):
    ...
    ValueError: digits must be an integer in [1, 1000], got 0
    """
    parameters = list(inspect.signature(function).parameters.values())
    names = [parameter.name for parameter in parameters]
    if "digits" not in names:
        raise TypeError(f"{function.__qualname__} has no digits parameter")
    position = names.index("digits")
    positional = parameters[position].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    default = parameters[position].default

    @functools.wraps(function)
    def checked(*args: _Parameters.args, **kwargs: _Parameters.kwargs) -> _Result:
        digits = default
        if positional and len(args) > position:
            digits = check_digits(args[position])
            args = (*args[:position], digits, *args[position + 1 :])
        elif "digits" in kwargs:
            digits = kwargs["digits"] = check_digits(kwargs["digits"])
        elif default is not inspect.Parameter.empty:
            digits = check_digits(default)
        return _as_certified(function(*args, **kwargs), digits)  # type: ignore[return-value]

    checked.checks_digits = True  # type: ignore[attr-defined]  (tests look for the marker)
    return checked


#: Every numeric argument must be 0 or have a decimal exponent (the power of ten of its leading
#: digit: 400 for 1.5e400) in [−MAX_DECIMAL_EXPONENT, MAX_DECIMAL_EXPONENT], i.e.
#: 10^−1000 <= |x| < 10^1001. The bound is checked *before* the exact rational is built (the
#: exact value of "1e999999999" alone would take minutes and gigabytes), and it keeps every result
#: printable: Γ at rate 10^1000 is 2^(−2·10^1000)-ish, whose decimal exponent has 1000 digits, and
#: λ*(u) at u = 10^1000 has one of 2000 digits, below Python's 4300-digit limit on int→str.
MAX_DECIMAL_EXPONENT = 1000
#: The most digits a decimal string's mantissa, or each side of a rational string p/q, may have
#: (Python itself refuses to convert more than 4300 digits to an int by default).
MAX_INPUT_DIGITS = 4000

#: Powers of two bracketing the accepted magnitudes: 2^_MAX_BITS > 10^(B + 1), 2^−_MIN_BITS < 10^−B.
_MAX_BITS = math.ceil((MAX_DECIMAL_EXPONENT + 1) * math.log2(10)) + 1
_MIN_BITS = math.ceil(MAX_DECIMAL_EXPONENT * math.log2(10)) + 1
_BEYOND = 10 ** (MAX_DECIMAL_EXPONENT + 1)

_NUMBER_TEXT = re.compile(
    r"""
    \s*(?P<sign>[-+]?)
    (?=\d|\.\d)                                  # a digit, or a point and a digit, comes first
    (?P<integer>\d*|\d+(?:_\d+)*)
    (?:
        \s*/\s*(?P<denominator>\d+(?:_\d+)*)     # p/q
      |
        (?:\.(?P<fraction>\d*|\d+(?:_\d+)*))?    # or a decimal, with an optional exponent
        (?:[eE](?P<exponent>[-+]?\d+(?:_\d+)*))?
    )
    \s*
    """,
    re.VERBOSE,
)


def _shown(value: object) -> str:
    """``repr(value)``, shortened: an error message must not itself be huge (or fail: Python
    refuses to print an int of more than 4300 digits)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if abs(int(value)).bit_length() > 256:
            return f"an integer of {abs(int(value)).bit_length()} bits"
    try:
        text = repr(value)
    except ValueError:  # e.g. an mpf or Fraction too large to print
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


def _out_of_range(name: str, value: object) -> ValueError:
    bound = MAX_DECIMAL_EXPONENT
    return ValueError(
        f"{name} must be 0 or have a decimal exponent in [-{bound}, {bound}] "
        f"(1e-{bound} <= |{name}| < 1e{bound + 1}), got {_shown(value)}"
    )


def _checked_magnitude(result: Fraction, name: str, value: object) -> Fraction:
    """``result`` if it is 0 or within the accepted magnitudes, else the range error."""
    if result == 0:
        return result
    numerator, denominator = abs(result.numerator), result.denominator
    bits = numerator.bit_length() - denominator.bit_length()  # 2^(bits−1) < |x| < 2^(bits+1)
    if bits - 1 >= _MAX_BITS or bits + 1 <= -_MIN_BITS:
        raise _out_of_range(name, value)
    if numerator * 10**MAX_DECIMAL_EXPONENT < denominator or numerator >= _BEYOND * denominator:
        raise _out_of_range(name, value)
    return result


def _text_to_fraction(value: str, name: str) -> Fraction:
    """A decimal (``0.5``, ``-1.5e-3``) or rational (``1/3``) string, its exponent bounded before
    any power of ten is formed."""
    match = _NUMBER_TEXT.fullmatch(value)
    if match is None:
        lowered = value.strip().lower().lstrip("+-")
        if lowered in {"nan", "inf", "infinity"}:
            raise ValueError(f"{name} must be finite, got {_shown(value)}")
        raise ValueError(
            f"{name} must be a decimal or rational number such as 0.5, 1e-3 or 1/3, "
            f"got {_shown(value)}"
        )
    integer = match["integer"].replace("_", "")
    fraction = (match["fraction"] or "").replace("_", "")
    denominator_text = (match["denominator"] or "").replace("_", "")
    if max(len(integer) + len(fraction), len(denominator_text)) > MAX_INPUT_DIGITS:
        raise ValueError(
            f"{name} must have at most {MAX_INPUT_DIGITS} digits (in its mantissa, or in each of "
            f"p and q of p/q), got {_shown(value)}"
        )
    sign = -1 if match["sign"] == "-" else 1
    mantissa = int(integer + fraction or "0")
    if denominator_text:
        denominator = int(denominator_text)
        if denominator == 0:
            raise ValueError(f"{name} must have a nonzero denominator, got {_shown(value)}")
        return _checked_magnitude(Fraction(sign * mantissa, denominator), name, value)
    if mantissa == 0:
        return Fraction(0)  # "0e999999999" is 0, whatever the exponent
    exponent_text = (match["exponent"] or "0").replace("_", "")
    exponent_digits = exponent_text.lstrip("+-").lstrip("0")
    if len(exponent_digits) > len(str(MAX_DECIMAL_EXPONENT)) + len(str(MAX_INPUT_DIGITS)):
        raise _out_of_range(name, value)  # far out of range: not even converted to an int
    scale = int(exponent_text) - len(fraction)  # the value is mantissa·10^scale
    leading = len(str(mantissa)) - 1 + scale  # the decimal exponent of the leading digit
    if not -MAX_DECIMAL_EXPONENT <= leading <= MAX_DECIMAL_EXPONENT:
        raise _out_of_range(name, value)
    if scale >= 0:
        return Fraction(sign * mantissa * 10**scale)
    return Fraction(sign * mantissa, 10**-scale)


def _to_fraction(value: object, name: str) -> Fraction:
    """Exact rational value of a real number given in any of the accepted forms.

    The magnitude is bounded (see :data:`MAX_DECIMAL_EXPONENT`) from the exponent alone whenever
    the exact value would be expensive to build: decimal strings and :class:`decimal.Decimal`
    by their decimal exponent, :class:`mpmath.mpf` by its binary exponent.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got the bool {value!r}")
    if isinstance(value, str):
        return _text_to_fraction(value, name)
    if isinstance(value, numbers.Integral):  # int and the numpy integers
        integer = int(value)
        if integer.bit_length() > _MAX_BITS:
            raise _out_of_range(name, value)
        return _checked_magnitude(Fraction(integer), name, value)
    if isinstance(value, Fraction):
        return _checked_magnitude(value, name, value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be finite, got {_shown(value)}")
        if value.is_zero():
            return Fraction(0)  # Decimal("0e999999999") is 0
        if not -MAX_DECIMAL_EXPONENT <= value.adjusted() <= MAX_DECIMAL_EXPONENT:
            raise _out_of_range(name, value)
        return Fraction(value)
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            raise ValueError(f"{name} must be finite, got {_shown(value)}")
        negative, mantissa, exponent, bit_count = value._mpf_  # (man_exp drops the sign)
        if not mantissa:
            return Fraction(0)
        magnitude = exponent + bit_count  # 2^(magnitude − 1) <= |value| < 2^magnitude
        if magnitude - 1 >= _MAX_BITS or magnitude <= -_MIN_BITS:
            raise _out_of_range(name, value)
        exact = (
            Fraction(int(mantissa) << exponent)
            if exponent >= 0
            else Fraction(int(mantissa), 1 << -exponent)
        )
        return _checked_magnitude(-exact if negative else exact, name, value)
    if isinstance(value, numbers.Real):  # float, the numpy floats, other registered reals
        try:
            numerator, denominator = value.as_integer_ratio()  # exact, also for np.longdouble
        except (OverflowError, ValueError):
            raise ValueError(f"{name} must be finite, got {_shown(value)}") from None
        except AttributeError:
            as_float = float(value)
            if not math.isfinite(as_float):
                raise ValueError(f"{name} must be finite, got {_shown(value)}") from None
            numerator, denominator = as_float.as_integer_ratio()
        return _checked_magnitude(Fraction(numerator, denominator), name, value)
    raise ValueError(f"{name} must be a real number, got {type(value).__name__} {_shown(value)}")


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

    The error message names the argument and states what was expected. The magnitude is bounded
    first (0, or 10^−1000 <= |x| < 10^1001: :data:`MAX_DECIMAL_EXPONENT`), from the exponent
    alone where the exact value would be costly to build.

    >>> exact_real("0.1", "rate")
    Fraction(1, 10)
    >>> exact_real(0.5, "rate")
    Fraction(1, 2)
    >>> exact_real(-1, "rate", minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: rate must be >= 0, got -1
    >>> exact_real("1e999999999", "rate")
    Traceback (most recent call last):
    ...
    ValueError: rate must be 0 or have a decimal exponent in [-1000, 1000] (1e-1000 <= |rate| ...
    """
    result = _to_fraction(value, name)
    if minimum is not None:
        below = result < minimum if minimum_inclusive else result <= minimum
        if below:
            relation = ">=" if minimum_inclusive else ">"
            raise ValueError(f"{name} must be {relation} {minimum}, got {_shown(value)}")
    if maximum is not None:
        above = result > maximum if maximum_inclusive else result >= maximum
        if above:
            relation = "<=" if maximum_inclusive else "<"
            raise ValueError(f"{name} must be {relation} {maximum}, got {_shown(value)}")
    return result


_INTEGER_TEXT = re.compile(r"\s*[-+]?\d+\s*")


def exact_integer(value: object, name: str, *, minimum: int = 1) -> int:
    """Validate an integer argument (an ``int``, a numpy integer or a string of digits), at
    least ``minimum`` and below 10^1001 (:data:`MAX_DECIMAL_EXPONENT`).

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
    elif (
        isinstance(value, str)
        and _INTEGER_TEXT.fullmatch(value)
        and len(value.strip().lstrip("+-")) <= MAX_DECIMAL_EXPONENT + 1
    ):
        result = int(value.strip())
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        result = _BEYOND  # more digits than accepted: refused below, never converted
    else:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_shown(value)}")
    if result < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_shown(value)}")
    if result >= _BEYOND:
        raise ValueError(
            f"{name} must be an integer >= {minimum} and < 1e{MAX_DECIMAL_EXPONENT + 1}, "
            f"got {_shown(value)}"
        )
    return result


def to_mpf(value: Fraction) -> mpmath.mpf:
    """The exact rational ``value`` correctly rounded (to nearest) to mpmath's working precision.

    One integer division with a quotient of about ``prec`` bits, whatever the size of the
    numerator and denominator (mpmath's own mpf/int division first normalizes the huge operand,
    which costs time quadratic in its length).
    """
    numerator, denominator = value.numerator, value.denominator
    if numerator == 0:
        return mpmath.mpf(0)
    if denominator == 1:
        return mpmath.mpf(numerator)  # mpf(int) rounds to the working precision
    magnitude = abs(numerator)
    shift = mpmath.mp.prec + 3 - (magnitude.bit_length() - denominator.bit_length())
    if shift >= 0:
        quotient, remainder = divmod(magnitude << shift, denominator)
    else:
        quotient, remainder = divmod(magnitude, denominator << -shift)
    # At least prec + 2 bits of quotient and a sticky bit: rounding it once is correct rounding.
    sticky = (quotient << 1) | (1 if remainder else 0)
    result = mpmath.mpf((sticky, -shift - 1))
    return -result if numerator < 0 else result


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


#: Beyond this many bits of binary exponent :func:`to_decimal` rounds through a high-precision
#: approximation instead of exact integers (whose size grows with the exponent: 2^(−2·10^400),
#: Γ at rate 10^400, would need a 10^400-digit power of ten).
_EXACT_RENDERING_BITS = 100_000


def _significant_digits(value: mpmath.mpf, digits: int) -> tuple[int, int]:
    """(N, e) with 10^(digits−1) <= N < 10^digits and N·10^(e − digits + 1) the value's magnitude
    rounded half-to-even to ``digits`` significant digits (the binary value is
    mantissa·2^exponent): in exact integer arithmetic, or for a huge exponent through
    :func:`_significant_digits_far`, which gives the same result."""
    _, mantissa, binary_exponent, bit_count = value._mpf_
    if abs(binary_exponent) > max(_EXACT_RENDERING_BITS, 4 * bit_count):
        return _significant_digits_far(mantissa, binary_exponent, bit_count, digits)
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


def _significant_digits_far(
    mantissa: int, binary_exponent: int, bit_count: int, digits: int
) -> tuple[int, int]:
    """:func:`_significant_digits` for v = m·2^b with |b| > 4·bitlength(m), m odd.

    Such a v is never a power of ten, and v·10^s is never a half-integer: for b < 0 it is
    m·5^s/2^(|b|−s) with |b| − s > 1 and m·5^s odd; for b > 0 it is m·2^(b−|s|)/5^|s| with
    5^|s| > m. So an approximation close enough decides both the decimal exponent and the
    rounding; it is computed from ln v = ln m + b·ln 2 at a precision covering the bits of b
    (absolute error below 2^(bitlength(b) − prec + 8), bounds with a wide margin), doubled
    until neither decision is within the error.
    """
    precision = abs(binary_exponent).bit_length() + bit_count + 4 * digits + 64
    for _ in range(12):
        with mpmath.workprec(precision):
            slack = mpmath.ldexp(1, abs(binary_exponent).bit_length() - precision + 8)
            log_value = mpmath.ln(mantissa) + binary_exponent * mpmath.ln2
            log10_value = log_value / mpmath.ln10
            exponent = int(mpmath.floor(log10_value))
            if log10_value - exponent > slack and exponent + 1 - log10_value > slack:
                shift = digits - 1 - exponent
                scaled = mpmath.exp(log_value + shift * mpmath.ln10)  # in [10^(d−1), 10^d)
                error = scaled * slack * 4
                floor = int(mpmath.floor(scaled))
                offset = scaled - floor
                if abs(offset - mpmath.mpf(1) / 2) > error:  # (near an integer both sides agree)
                    rounded = floor + (1 if offset > mpmath.mpf(1) / 2 else 0)
                    if rounded == 10**digits:
                        return rounded // 10, exponent + 1
                    return rounded, exponent
        precision *= 2
    raise UncertifiedValueError(  # not reached in practice: each doubling halves the error
        f"to_decimal: could not round a value of binary exponent {binary_exponent} to "
        f"{digits} digits"
    )


@checks_digits
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
