"""The precision discipline: exact inputs, certification by a second precision, clear errors."""

from __future__ import annotations

import decimal
import math
from fractions import Fraction

import mpmath
import pytest

from quantmm.reference import precision
from quantmm.reference.precision import (
    MAX_DIGITS,
    UncertifiedValueError,
    certified,
    check_digits,
    exact_integer,
    exact_real,
    to_decimal,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0.1", Fraction(1, 10)),  # a decimal string is the exact decimal
        ("1/3", Fraction(1, 3)),
        ("1e-3", Fraction(1, 1000)),
        (0.1, Fraction(3602879701896397, 2**55)),  # a float is its exact binary value
        (decimal.Decimal("2.5"), Fraction(5, 2)),
        (Fraction(7, 16), Fraction(7, 16)),
        (3, Fraction(3)),
    ],
)
def test_exact_real_keeps_the_exact_value(given, expected):
    assert exact_real(given, "rate") == expected


def test_exact_real_takes_an_mpf_at_its_exact_binary_value():
    with mpmath.workdps(50):
        third = mpmath.mpf(1) / 3
    exact = exact_real(third, "rate")
    assert exact != Fraction(1, 3)
    assert abs(exact - Fraction(1, 3)) < Fraction(1, 10**49)


@pytest.mark.parametrize(
    "bad",
    [math.nan, math.inf, -math.inf, "nan", "inf", "-Infinity", "abc", "", None, True, 1j, [1]],
)
def test_exact_real_rejects_non_finite_and_non_numbers_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"^rate_a must be"):
        exact_real(bad, "rate_a")


def test_exact_real_rejects_nan_and_inf_mpf():
    for bad in (mpmath.nan, mpmath.inf):
        with pytest.raises(ValueError, match="rate must be finite"):
            exact_real(bad, "rate")


def test_exact_real_range_messages_state_what_was_expected():
    with pytest.raises(ValueError, match=r"distortion must be > 0, got 0"):
        exact_real(0, "distortion", minimum=0, minimum_inclusive=False)
    with pytest.raises(ValueError, match=r"distortion must be <= 1, got 1.5"):
        exact_real(1.5, "distortion", maximum=1)
    assert exact_real(1, "distortion", maximum=1) == 1


@pytest.mark.parametrize("bad", [0, -3, 2.0, "2.5", True, None])
def test_exact_integer_rejects_non_positive_and_non_integers(bad):
    with pytest.raises(ValueError, match=r"^n must be an integer >= 1"):
        exact_integer(bad, "n")


@pytest.mark.parametrize("bad", [0, -1, MAX_DIGITS + 1, 10**6, 2.0, "30", True])
def test_check_digits_rejects_out_of_range_naming_digits(bad):
    with pytest.raises(ValueError, match=r"^digits must be an integer in \[1, 1000\]"):
        check_digits(bad)


def test_digits_above_the_maximum_say_they_cannot_be_certified():
    with pytest.raises(ValueError, match="too high to certify"):
        check_digits(MAX_DIGITS + 1)


def test_certified_returns_digits_that_match_an_independent_value():
    value = certified(lambda: mpmath.pi, 40, "pi")
    with mpmath.workdps(60):
        assert to_decimal(value, 40) == mpmath.nstr(+mpmath.pi, 40, strip_zeros=False)


def test_certified_raises_for_a_value_that_depends_on_the_working_precision():
    # A deliberately broken evaluation: its answer moves with the precision, as a computation
    # that loses all its digits to cancellation would. It must never be returned.
    def unstable() -> mpmath.mpf:
        return 1 + mpmath.mpf(2) ** (-mpmath.mp.prec // 2)

    with pytest.raises(UncertifiedValueError, match="unstable: could not certify 30"):
        certified(unstable, 30, "unstable")


def test_certified_raises_when_only_the_last_digits_disagree():
    # Both evaluations round to the same 20 digits but differ by more than the guard allows:
    # a tell-tale of precision loss that a matching rounding would hide.
    def drifting() -> mpmath.mpf:
        return mpmath.mpf(1) / 3 + mpmath.mpf(10) ** -24 * (mpmath.mp.dps % 7)

    with mpmath.workdps(40):
        assert {
            to_decimal(mpmath.mpf(1) / 3 + mpmath.mpf(10) ** -24 * k, 20) for k in range(7)
        } == {to_decimal(mpmath.mpf(1) / 3, 20)}

    with pytest.raises(UncertifiedValueError):
        certified(drifting, 20, "drifting")


def test_certified_does_not_change_the_global_precision():
    before = mpmath.mp.prec
    certified(lambda: mpmath.e, 200, "e")
    assert mpmath.mp.prec == before


def test_certified_never_certifies_a_computed_zero():
    # mpmath does not underflow, so a computed zero is total cancellation: 1 − (1 − 10^-500)
    # is 0 at every precision the certification tries, but the true value is 10^-500.
    def cancelled() -> mpmath.mpf:
        return 1 - (1 - mpmath.mpf(10) ** -500)

    with pytest.raises(UncertifiedValueError, match="cancelled: evaluated to exactly 0"):
        certified(cancelled, 10, "cancelled")


def test_certified_rejects_non_finite_results():
    with pytest.raises(UncertifiedValueError):
        certified(lambda: mpmath.inf, 10, "infinite")


def test_to_decimal_keeps_trailing_zeros_and_rounds_to_nearest():
    assert to_decimal(mpmath.mpf(7) / 16, 8) == "0.43750000"
    assert to_decimal(mpmath.mpf(2) / 3, 5) == "0.66667"


def test_guard_schedule_is_increasing():
    assert list(precision.GUARD_SCHEDULE) == sorted(set(precision.GUARD_SCHEDULE))


def test_exact_real_keeps_the_sign_of_an_mpf():
    # mpf.man_exp drops the sign; a negative mpf must not pass a `>= 0` check.
    assert exact_real(mpmath.mpf(-1) / 4, "rate") == Fraction(-1, 4)
    with pytest.raises(ValueError, match="rate must be >= 0"):
        exact_real(mpmath.mpf(-1), "rate", minimum=0)


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        ("1792", 1, "2e+3"),
        ("1792", 4, "1792"),
        ("1792", 6, "1792.00"),
        ("0.125", 2, "0.12"),  # an exact tie rounds half to even
        ("0.375", 2, "0.38"),
        ("-2.5", 1, "-2"),
        ("9.99996", 5, "10.000"),  # the carry adds a digit before the point
        ("0.00001", 3, "0.0000100"),  # 1e-5: fixed down to exponent −5
        ("0.000001", 3, "1.00e-6"),  # 1e-6: scientific
        ("0", 4, "0.000"),
    ],
)
def test_to_decimal_rounds_exactly_and_formats_predictably(value, digits, text):
    with mpmath.workdps(50):
        number = mpmath.mpf(value)
    assert to_decimal(number, digits) == text


def test_to_decimal_does_not_round_through_the_global_precision():
    with mpmath.workdps(60):
        third = mpmath.mpf(1) / 3
    assert to_decimal(third, 50) == "0." + "3" * 50


def test_to_decimal_rounds_the_exact_binary_value():
    # 0.1 as a double is 0.1000000000000000055511151231257827…; at 20 digits that shows.
    assert to_decimal(mpmath.mpf(0.1), 20) == "0.10000000000000000555"


def test_certified_values_requires_every_component_to_agree():
    from quantmm.reference.precision import certified_values

    def one_unstable() -> tuple[mpmath.mpf, mpmath.mpf]:
        return mpmath.mpf(1) / 3, 1 + mpmath.mpf(2) ** (-mpmath.mp.prec // 2)

    with pytest.raises(UncertifiedValueError, match="pair: could not certify"):
        certified_values(one_unstable, 20, "pair")


def test_certified_values_accepts_zeros_only_when_declared_structural():
    from quantmm.reference.precision import certified_values

    def symmetric() -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
        return -mpmath.sqrt(2), mpmath.mpf(0), mpmath.sqrt(2)

    with pytest.raises(UncertifiedValueError, match="total cancellation"):
        certified_values(symmetric, 20, "levels")
    levels = certified_values(symmetric, 20, "levels", structural_zeros=True)
    assert levels[1] == 0
    assert to_decimal(levels[2], 20) == "1.4142135623730950488"


# -- CertifiedValue: what the public functions return ------------------------------------------


def _quantity_examples():
    from test_cli import EXAMPLES

    return EXAMPLES


@pytest.mark.parametrize("name", sorted(_quantity_examples()))
def test_every_quantity_returns_a_value_that_prints_its_certified_digits(name):
    """Expected: to_decimal of the same value at the asked digits (the one rounding helper)."""
    from quantmm.quantities import QUANTITIES, evaluate

    value = evaluate(QUANTITIES[name], _quantity_examples()[name], 17).value
    assert isinstance(value, precision.CertifiedValue) and isinstance(value, mpmath.mpf)
    assert value.digits == 17
    assert str(value) == f"{value}" == to_decimal(value, 17)


def test_a_certified_value_computes_as_an_mpf_and_survives_pickling():
    import pickle

    import quantmm

    value = quantmm.gamma("0.5", digits=45)
    # the bits of the certified evaluation (at 45 + 2·10 + 10 digits), not rounded to mp.dps
    assert value._mpf_[3] > 200  # the mantissa's bit count
    derived = value * 2
    assert type(derived) is mpmath.mpf  # a derived value is not certified: it prints as mpf
    again = pickle.loads(pickle.dumps(value))
    assert type(again) is precision.CertifiedValue and again.digits == 45
    assert again._mpf_ == value._mpf_ and str(again) == str(value)
