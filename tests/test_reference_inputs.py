"""Inputs of the reference: bounded before they are expanded, certified however large, and
``digits`` checked on every path.

- Item 2: ``Fraction("1e999999999")`` builds a 10^999999999 before anything can look at it, so such
  inputs hung. Every numeric argument is now 0 or has a decimal exponent in [−1000, 1000]
  (precision.MAX_DECIMAL_EXPONENT), checked from the exponent first, for strings, Decimals,
  mpfs, ints, Fractions and numpy scalars alike.
- Item 3: Γ(10^400) is 2^(−2·10^400)·(2 − 2^(−2·10^400)); the power is now taken from the exact
  rate (theory.md §1.1), so it is certified instead of refused.
- Item 4: ``digits`` is checked by one decorator on every public function, before any early return.

Expected values come from closed forms (2^k by mpmath.ldexp, its decimal digits from
k·log10(2) at a precision covering the digits of k), never from the code under test. The fuzz at
the end calls every public function taking numbers, and every ``quantmm value`` quantity, with
hostile inputs under a per-call time limit.
"""

from __future__ import annotations

import contextlib
import decimal
import inspect
import math
import random
import signal
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import quantmm
from quantmm import reference
from quantmm.cli import main
from quantmm.quantities import QUANTITIES, evaluate
from quantmm.reference import precision, scalar_designs
from quantmm.reference.design_error import ScalarError, scalar_error
from quantmm.reference.precision import (
    MAX_DECIMAL_EXPONENT,
    UncertifiedValueError,
    exact_integer,
    exact_real,
    to_decimal,
    to_mpf,
)
from quantmm.reference.scalar_codebook import ScalarCodebook

#: Exit status of the command line for bad input (quantmm/cli.py).
EXIT_BAD_INPUT = 2
#: Per-call limit on CPU seconds (not wall-clock: a loaded CI machine that deschedules a worker
#: does not count), a guard against hangs only. The valid calls take milliseconds to about a
#: second here; a call that builds 10^999999999 runs for hours.
CALL_SECONDS = 60
#: The same guard for the refusals of item 2. That they are decided from the exponent alone is
#: asserted by memory (:data:`REFUSAL_BYTES`), which does not depend on the machine's speed.
REFUSAL_SECONDS = 20
#: Peak Python allocation allowed for a refusal (tracemalloc): 10^999999999 is 415 MB, and
#: already its first 1% would exceed this.
REFUSAL_BYTES = 1 << 20
#: Digits asked in the fuzz: small, to keep the valid evaluations quick.
FUZZ_DIGITS = 10


class CallTimeoutError(AssertionError):
    """A call ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`CallTimeoutError` (an AssertionError) if the block uses more than
    ``seconds`` of CPU time (ITIMER_PROF, user + system, delivered as SIGPROF: the tests run in
    the main thread). CPU time, so that a worker descheduled on a busy machine is not failed."""

    def expire(signum, frame):
        raise CallTimeoutError(f"{what} did not finish within {seconds} CPU seconds")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@contextlib.contextmanager
def builds_nothing_large(what: str) -> Iterator[None]:
    """Assert that the block's peak Python allocation stays under :data:`REFUSAL_BYTES`."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < REFUSAL_BYTES, f"{what} allocated {peak} bytes at its peak"


def timed(function, *args, seconds: float = CALL_SECONDS, **kwargs):
    """``function(*args, **kwargs)`` under :func:`time_limit`."""
    shown = ", ".join([*map(precision._shown, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    with time_limit(seconds, f"{getattr(function, '__name__', function)}({shown})"):
        return function(*args, **kwargs)


def refused_cheaply(function, *args, **kwargs):
    """``function(*args, **kwargs)`` under the refusal guards: :func:`time_limit` at
    :data:`REFUSAL_SECONDS` and :func:`builds_nothing_large`."""
    shown = ", ".join([*map(precision._shown, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    what = f"{getattr(function, '__name__', function)}({shown})"
    with time_limit(REFUSAL_SECONDS, what), builds_nothing_large(what):
        return function(*args, **kwargs)


def power_of_two_in_decimal(exponent: Fraction, digits: int) -> str:
    """2^exponent rendered like to_decimal (scientific: its decimal exponent is far below −5),
    computed independently: L = exponent·log10(2) at a precision covering the digits of L, the
    mantissa 10^(L − ⌊L⌋) rounded to ``digits`` significant digits."""
    size = len(str(abs(exponent.numerator) // exponent.denominator + 1))
    with mpmath.workdps(size + digits + 30):
        log10_value = mpmath.mpf(exponent.numerator) / exponent.denominator * mpmath.log10(2)
        leading = int(mpmath.floor(log10_value))
        mantissa = mpmath.power(10, log10_value - leading)  # in [1, 10)
        scaled = int(mpmath.nint(mantissa * mpmath.mpf(10) ** (digits - 1)))
    if scaled == 10**digits:
        scaled, leading = scaled // 10, leading + 1
    text = str(scaled)
    return f"{text[0]}.{text[1:]}e{leading:+d}"


def relative_gap(value: mpmath.mpf, expected: mpmath.mpf) -> mpmath.mpf:
    with mpmath.workdps(60):
        return abs(value / expected - 1)


HUGE = 10**400


# ---------------------------------------------------------------------------------------------
# Item 2: huge exponents are refused from the exponent alone, at once.
# ---------------------------------------------------------------------------------------------

RANGE_MESSAGE = r"rate must be 0 or have a decimal exponent in \[-1000, 1000\]"


@pytest.mark.parametrize(
    "rate",
    [
        "1e999999999",
        "1e-999999999",
        "-1e-999999999",
        "1E+999999999",
        "  7.25e999999999  ",
        "1e" + "9" * 5000,  # an exponent too long even to convert to an int
        "0.0000001e-999999999",
        Decimal("1e999999999"),
        Decimal("-1e-999999999"),
        mpmath.mpf("1e999999999"),
        mpmath.mpf("1e-999999999"),
        10 ** (10**5),
        Fraction(1, 10 ** (10**5)),
        np.longdouble("1e4000"),
        "1e1001",
        "9.9e-1001",
    ],
    ids=precision._shown,  # (repr of a 10^5-digit int itself fails)
)
def test_huge_exponents_are_refused_at_once_naming_the_argument(rate):
    with pytest.raises(ValueError, match=RANGE_MESSAGE) as raised:
        refused_cheaply(quantmm.gamma, rate, digits=10)
    assert len(str(raised.value)) < 250  # the message shows a shortened input, not a huge one


def test_zero_with_a_huge_exponent_is_zero():
    # "0e999999999" is exactly 0 (Fraction would still build 10^999999999 first).
    for zero in ("0e999999999", "-0.000e-999999999", Decimal("0e999999999")):
        value = refused_cheaply(quantmm.gamma, zero, digits=10)
        assert value == 1  # Γ(0) = 1
        assert exact_real(zero, "rate") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e1000", Fraction(10**1000)),
        ("9.99e1000", Fraction(999 * 10**998)),
        ("1e-1000", Fraction(1, 10**1000)),
        ("-1e-1000", -Fraction(1, 10**1000)),
        ("0.01e1002", Fraction(10**1000)),
        ("1_000e997", Fraction(10**1000)),
        ("123/456", Fraction(123, 456)),
    ],
)
def test_the_bound_is_inclusive_and_exact(text, expected):
    assert exact_real(text, "x") == expected


@pytest.mark.parametrize(
    "value",
    [
        10 ** (MAX_DECIMAL_EXPONENT + 1),
        -(10 ** (MAX_DECIMAL_EXPONENT + 1)),
        Fraction(1, 10**MAX_DECIMAL_EXPONENT + 1),
        mpmath.ldexp(1, 3400),
        mpmath.ldexp(1, -3330),
        "1" + "0" * (MAX_DECIMAL_EXPONENT + 1),
        Fraction(10**MAX_DECIMAL_EXPONENT) * 10,
    ],
    ids=lambda value: type(value).__name__,
)
def test_just_outside_the_bound_is_refused_in_every_form(value):
    with pytest.raises(ValueError, match=r"^x must be 0 or have a decimal exponent"):
        exact_real(value, "x")


def test_the_bound_on_binary_inputs_is_exact_at_the_edge():
    assert exact_real(Fraction(1, 10**1000), "x") == Fraction(1, 10**1000)
    assert exact_real(Fraction(10**1001 - 1), "x") == 10**1001 - 1
    with mpmath.workprec(4000):
        just_inside = mpmath.mpf(10) ** 1001 * (1 - mpmath.mpf(2) ** -3900)
    assert exact_real(just_inside, "x") < 10**1001


def test_long_mantissas_are_refused_with_their_own_message():
    with pytest.raises(ValueError, match=r"rate must have at most 4000 digits"):
        exact_real("0." + "3" * 5000, "rate")
    assert exact_real("0." + "3" * 3000, "rate") == Fraction(int("3" * 3000), 10**3000)


@pytest.mark.parametrize(
    "bad", ["1/0", "", "1e", "e5", "0x10", "1.2.3", "½", "١/٠", "1__0", "--1", "1 e5"]
)
def test_malformed_text_is_a_value_error_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"^rate must"):
        exact_real(bad, "rate")


def test_unicode_decimal_digits_are_accepted_as_fraction_did():
    assert exact_real("١٢", "rate") == 12  # Arabic-Indic digits, as Fraction("١٢")


def test_integers_are_bounded_and_strings_of_digits_are_checked_before_conversion():
    assert exact_integer("4096", "n") == 4096
    assert exact_integer(np.int64(7), "n") == 7
    for bad in ("9" * 5000, 10**1001, "²", "1e3"):
        with pytest.raises(ValueError, match=r"^n must be an integer >= 1"):
            refused_cheaply(exact_integer, bad, "n")


def test_the_command_line_refuses_a_huge_rate_in_one_line(capsys):
    status = refused_cheaply(main, ["value", "gamma", "rate=1e999999999"])
    captured = capsys.readouterr()
    assert status == EXIT_BAD_INPUT
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("quantmm: error: rate must be 0 or have a decimal exponent")
    assert "[-1000, 1000]" in lines[0] and "'1e999999999'" in lines[0]


def test_to_mpf_is_correctly_rounded_and_fast_for_huge_denominators():
    rng = random.Random(17)
    for prec in (53, 113, 400):
        with mpmath.workprec(prec):
            for _ in range(500):
                value = Fraction(
                    rng.randint(-(10**40), 10**40), rng.randint(1, 10 ** rng.randint(1, 40))
                )
                expected = mpmath.libmp.from_rational(
                    value.numerator, value.denominator, prec, mpmath.libmp.round_nearest
                )
                assert to_mpf(value)._mpf_ == expected
    tiny = Fraction(3, 2 * 10**200_000)  # caller-built: the conversion itself must be quick
    with mpmath.workdps(30):
        value = timed(to_mpf, tiny, seconds=REFUSAL_SECONDS)
        assert relative_gap(value * mpmath.mpf(10) ** 200_000, mpmath.mpf(3) / 2) < 1e-29


# ---------------------------------------------------------------------------------------------
# Item 3: huge rates are certified (the power of two is exact).
# ---------------------------------------------------------------------------------------------


def test_gamma_at_rate_1e400_is_certified_with_its_closed_form_digits():
    # Γ(n) = (2^(2n+1) − 1)/2^(4n) at an integer rate (theory.md §1.1) = 2^(1−2n)·(1 − 2^(−2n−1)):
    # to 30 digits, the digits of 2^(1−2n).
    value = refused_cheaply(quantmm.gamma, "1e400", digits=30)  # cheap: 4^(-R) is not expanded
    assert to_decimal(value, 30) == power_of_two_in_decimal(Fraction(1 - 2 * HUGE), 30)
    assert relative_gap(value, mpmath.ldexp(1, 1 - 2 * HUGE)) < mpmath.mpf(10) ** -30


def test_gamma_at_a_huge_rate_with_a_fractional_part():
    # R = n + 1/4: Γ = 2s − s², s = 2^(−2n−1/2), so Γ = √2·2^(−2n)·(1 − tiny).
    value = timed(quantmm.gamma, Fraction(HUGE) + Fraction(1, 4), digits=25)
    assert to_decimal(value, 25) == power_of_two_in_decimal(Fraction(1, 2) - 2 * HUGE, 25)
    # R = n + 1/3 scaled exactly by 4^n: → 2·2^(−2/3) (the moderate-rate formula 2s).
    value = timed(quantmm.gamma, Fraction(HUGE) + Fraction(1, 3), digits=25)
    with mpmath.workdps(40):
        rescaled = mpmath.ldexp(value, 2 * HUGE)
        assert relative_gap(rescaled, 2 / mpmath.cbrt(4)) < mpmath.mpf(10) ** -25


def test_one_sided_at_a_huge_integer_rate_is_the_exact_power_of_two():
    assert timed(quantmm.one_sided, HUGE, digits=30) == mpmath.ldexp(1, -2 * HUGE)
    with mpmath.workdps(450):  # log2 of the result, exactly −2R
        assert mpmath.log(quantmm.one_sided("1e400", digits=30), 2) == -2 * HUGE


@pytest.mark.parametrize(
    ("function", "arguments", "power", "factor"),
    [
        (quantmm.phi, ("1e400",), 1 - 2 * HUGE, 1),
        (quantmm.gamma_derivative, (HUGE,), 2 - 2 * HUGE, "-ln2"),  # −4 ln2 · 2^(−2n)
        (quantmm.unequal_rates, ("1e400", HUGE), 1 - 2 * HUGE, 1),  # D(R, R) = Γ(R)
        (quantmm.lower_bound, (4096, 1, 1, "1e400"), 13 - 2 * HUGE, 1),  # 2^12·Γ
        (quantmm.universal_guarantee, ("1e400", 8, 8, 8, 8), 4 - 2 * HUGE, 1),  # ≈ 8·φ
        (quantmm.universal_guarantee, ("1e400", 8, 8, 8, 8, "unbiased"), 4 - 2 * HUGE, 1),
    ],
    ids=["phi", "gamma_derivative", "unequal_rates", "lower_bound", "mmse", "unbiased"],
)
def test_every_power_of_two_quantity_is_certified_at_rate_1e400(function, arguments, power, factor):
    # Each is factor·2^power·(1 + O(2^(−2n))) at n = 10^400 (theory.md §1.1–§1.3).
    value = timed(function, *arguments, digits=30)
    with mpmath.workdps(60):
        scale = -mpmath.ln(2) if factor == "-ln2" else mpmath.mpf(factor)
        assert relative_gap(value, scale * mpmath.ldexp(1, power)) < mpmath.mpf(10) ** -30


def test_the_largest_accepted_rate_is_certified_quickly():
    largest = "9.999e1000"
    value = timed(quantmm.gamma, largest, digits=10)
    exact = Fraction(9999 * 10**997)
    assert to_decimal(value, 10) == power_of_two_in_decimal(1 - 2 * exact, 10)


def test_the_command_line_prints_gamma_at_rate_1e400(capsys):
    status = timed(main, ["value", "gamma", "rate=1e400", "--digits", "12"])
    assert status == 0
    assert capsys.readouterr().out.strip() == power_of_two_in_decimal(Fraction(1 - 2 * HUGE), 12)


def test_optimal_density_far_in_the_tail_is_certified():
    # λ*(u) at u = 10^500: exp(−u²/6) from the exact u; at ρ = 0, λ* is the N(0, 3) density,
    # exp(−u²/6)/√(6π), whose log10 is −10^1000/(6 ln 10) − log10(√(6π)).
    value = timed(quantmm.optimal_density, "1e500", 0, digits=12)
    with mpmath.workdps(1100):
        log10_expected = -(mpmath.mpf(10) ** 1000) / (6 * mpmath.ln(10)) - mpmath.log10(
            mpmath.sqrt(6 * mpmath.pi)
        )
        assert abs(mpmath.log10(value) - log10_expected) < mpmath.mpf(10) ** -11


def test_far_and_exact_rendering_agree():
    # to_decimal switches to a high-precision approximation for huge binary exponents; with the
    # switch lowered, both paths must give the same digits on random values.
    rng = random.Random(2024)
    cases = 0
    for _ in range(300):
        with mpmath.workprec(rng.choice([53, 200, 700])):
            value = mpmath.mpf(rng.random() + 0.5) / rng.randint(1, 10**6)
            value = mpmath.ldexp(value, rng.choice([-1, 1]) * rng.randint(4000, 12000))
        digits = rng.randint(1, 80)
        exact = precision._significant_digits(value, digits)
        _, mantissa, exponent, bits = value._mpf_
        assert abs(exponent) > 4 * bits
        assert precision._significant_digits_far(mantissa, exponent, bits, digits) == exact
        cases += 1
    assert cases == 300


# ---------------------------------------------------------------------------------------------
# Item 4: digits is checked before any early return.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda digits: quantmm.gamma_inverse(1, digits=digits),  # Γ⁻¹(1) = 0 exactly
        lambda digits: quantmm.time_sharing_fraction(0, digits=digits),  # κ(0) = 0 exactly
        lambda digits: quantmm.universal_guarantee(0, 0, 0, 0, 1, digits=digits),
        lambda digits: quantmm.peak_location("0.5", digits),  # 0 below 1/√3 (positional)
        lambda digits: quantmm.compander_bias_coefficient(0, "opt", digits),
        lambda digits: quantmm.design_gain_db(0, digits=digits),
        lambda digits: quantmm.optimal_density(0, 1, digits=digits),
        lambda digits: quantmm.optimal_density_quantile("0.5", 0, digits=digits),
        lambda digits: quantmm.product_error(1, 1, 1, 0, 0, digits=digits),
    ],
    ids=[
        "gamma_inverse",
        "time_sharing_fraction",
        "universal_guarantee",
        "peak_location",
        "compander_bias_coefficient",
        "design_gain_db",
        "optimal_density",
        "optimal_density_quantile",
        "product_error",
    ],
)
@pytest.mark.parametrize(
    "digits", [0, -1, 1001, 2.0, "30", True, None, 10**5000], ids=precision._shown
)
def test_digits_is_checked_on_early_returns(call, digits):
    with pytest.raises(ValueError, match=r"^digits must be an integer in \[1, 1000\]"):
        call(digits)


def _takes_digits(member: object) -> bool:
    return inspect.isfunction(member) and "digits" in inspect.signature(member).parameters


PUBLIC_WITH_DIGITS = sorted(
    {name for name in quantmm.__all__ if _takes_digits(getattr(quantmm, name, None))}
    | {name for name in reference.__all__ if _takes_digits(getattr(reference, name, None))}
)


def test_the_public_functions_with_digits_are_found():
    assert {"gamma", "gamma_inverse", "time_sharing_fraction", "scalar_error"} <= set(
        PUBLIC_WITH_DIGITS
    )


@pytest.mark.parametrize("name", PUBLIC_WITH_DIGITS)
def test_every_public_function_with_digits_uses_the_one_check(name):
    member = getattr(quantmm, name, None) or getattr(reference, name)
    assert getattr(member, "checks_digits", False), f"{name} is not decorated with checks_digits"


@pytest.mark.parametrize("name", sorted(QUANTITIES))
def test_every_quantity_function_uses_the_one_check(name):
    assert getattr(QUANTITIES[name].function, "checks_digits", False)


def test_digits_as_a_numpy_integer_reaches_the_body_as_an_int():
    assert to_decimal(quantmm.gamma(1, digits=np.int64(5)), 5) == "0.43750"
    assert quantmm.density_normalizer(0, digits=np.int64(8)) > 0  # uses digits arithmetically


# ---------------------------------------------------------------------------------------------
# Fuzz: every public function taking numbers, and every quantity, with hostile inputs.
# ---------------------------------------------------------------------------------------------

HOSTILE = [
    "1e999999999",
    "-1e-999999999",
    "1e400",
    "-1e400",
    "1e-400",
    "1e1000",
    "1e-1000",
    "1e1001",
    "0e999999999",
    "nan",
    "-inf",
    "",
    "1/0",
    "1/3",
    "-0.0",
    "0.5",
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    True,
    False,
    np.int64(4),
    np.float64(0.5),
    np.float64("nan"),
    np.float32(0.25),
    np.float32("inf"),
    Decimal("1e999999999"),
    Decimal("NaN"),
    Decimal("-0.25"),
    Fraction(1, 3),
    Fraction(HUGE),
    Fraction(1, HUGE),
    mpmath.mpf("1e999999999"),
    mpmath.mpf("0.5"),
    mpmath.mpf("-inf"),
    mpmath.nan,
    HUGE,
    10**1200,  # (printable: hypothesis shows the failing value)
    None,
    [1],
    1j,
]

hostile_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.fractions(max_denominator=10**6),
    st.decimals(allow_nan=True, allow_infinity=True),
)

_p, _m = reference.gaussian_pair(0)

#: (function, valid arguments, the arguments to fuzz). ``levels`` is not fuzzed with arbitrary
#: integers: a valid design with thousands of levels is legitimately slow (see test_levels_...).
REFERENCE_SPECS = [
    (reference.phi, {"rate": 1}, ("rate",)),
    (reference.gamma, {"rate": 1}, ("rate",)),
    (reference.gamma_derivative, {"rate": 1}, ("rate",)),
    (reference.gamma_inverse, {"distortion": "0.5"}, ("distortion",)),
    (reference.time_sharing_fraction, {"rate": 1}, ("rate",)),
    (reference.one_sided, {"rate": 1}, ("rate",)),
    (reference.unequal_rates, {"rate_a": 1, "rate_b": 2}, ("rate_a", "rate_b")),
    (
        reference.lower_bound,
        {"n": 8, "a": 1, "b": 1, "rate": 1, "sigma_a": 1, "sigma_b": 1},
        ("n", "a", "b", "rate", "sigma_a", "sigma_b"),
    ),
    (
        reference.universal_guarantee,
        {"rate": 1, "fro_AtB_sq": 8, "fro_A_sq": 8, "fro_B_sq": 8, "n": 8},
        ("rate", "fro_AtB_sq", "fro_A_sq", "fro_B_sq", "n"),
    ),
    (reference.ball_bound, {"dimension": 3}, ("dimension",)),
    (reference.optimal_density, {"u": 1, "rho": "0.5"}, ("u", "rho")),
    (reference.optimal_density_cdf, {"u": 1, "rho": "0.5"}, ("u", "rho")),
    (reference.optimal_density_quantile, {"p": "0.25", "rho": "0.5"}, ("p", "rho")),
    (reference.density_normalizer, {"rho": "0.5"}, ("rho",)),
    (reference.g_opt, {"rho": "0.5"}, ("rho",)),
    (reference.g_pd, {"rho": "0.5"}, ("rho",)),
    (reference.design_gain_db, {"rho": "0.5"}, ("rho",)),
    (reference.peak_location, {"rho": "0.5"}, ("rho",)),
    (reference.compander_bias_coefficient, {"rho": "0.5"}, ("rho",)),
    (reference.is_bimodal, {"rho": "0.5"}, ("rho",)),
    (reference.gaussian_pair, {"rho": "0.5"}, ("rho",)),
    (
        reference.product_error,
        {"m": 2, "k": 100, "n": 3, "second_moment": "0.01", "mean": "0.001"},
        ("m", "k", "n", "second_moment", "mean"),
    ),
    (
        reference.bias_crossover,
        {"second_moment": "0.01", "mean": "0.001"},
        ("second_moment", "mean"),
    ),
    (
        reference.optimal_point_density,
        {
            "x": 1,
            "marginal_density": _p,
            "conditional_second_moment": _m,
            "support": ("-inf", "inf"),
        },
        ("x",),
    ),
    (reference.design_codebook, {"design": "pd", "rho": "0.5", "levels": 3}, ("rho",)),
    (scalar_error, {"design": "pd", "rho": "0.5", "levels": 3}, ("rho",)),
]

#: Valid string parameters of the quantities (``quantmm value NAME key=value ...``).
QUANTITY_DEFAULTS = {
    "rate": "1",
    "distortion": "0.5",
    "rate_a": "1",
    "rate_b": "2",
    "n": "8",
    "a": "1",
    "b": "1",
    "sigma_a": "1",
    "sigma_b": "1",
    "fro_AtB_sq": "8",
    "fro_A_sq": "8",
    "fro_B_sq": "8",
    "alpha": "mmse",
    "lattice": "E8",
    "dimension": "3",
    "rho": "0.5",
    "u": "1",
    "design": "pd",
    "levels": "3",
    "k": "4",
}
#: Integer parameters whose valid values can be legitimately slow when large (design sizes).
SIZE_PARAMETERS = {"levels", "k"}

hostile_text = st.one_of(
    st.sampled_from([value for value in HOSTILE if isinstance(value, str)]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.fractions(max_denominator=10**6).map(str),
)


def _is_large_integer_text(text: str) -> bool:
    with contextlib.suppress(ValueError):
        return abs(exact_integer(text, "x", minimum=-(10**6))) > 8
    return False


def _check_result(result: object) -> None:
    """A returned value must be certified: a finite mpf (or a structure of them)."""
    if isinstance(result, mpmath.mpf):
        assert mpmath.isfinite(result), result
    elif isinstance(result, bool):
        pass
    elif isinstance(result, ScalarCodebook):
        assert all(mpmath.isfinite(v) for v in (*result.levels, *result.thresholds))
    elif isinstance(result, ScalarError):
        _check_result(result.second_moment)
        _check_result(result.mean)
        _check_result(result.codebook)
    elif isinstance(result, tuple) and all(callable(item) for item in result):
        pass  # gaussian_pair: the law's two functions
    else:
        raise AssertionError(f"unexpected result {result!r}")


def _call_safely(function, arguments: dict) -> None:
    digits = {"digits": FUZZ_DIGITS} if "digits" in inspect.signature(function).parameters else {}
    reproduction = f"{function.__module__}.{function.__name__}(**{arguments!r}, **{digits!r})"
    note(f"reproduce with: {reproduction}")
    try:
        with time_limit(CALL_SECONDS, reproduction):
            result = function(**arguments, **digits)
            if isinstance(result, mpmath.mpf):
                to_decimal(result, FUZZ_DIGITS)  # rendering is part of the answer
    except (ValueError, UncertifiedValueError):
        return
    _check_result(result)


FUZZ_SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_reference_functions(data):
    function, valid, fuzzable = data.draw(st.sampled_from(REFERENCE_SPECS), label="function")
    name = data.draw(st.sampled_from(fuzzable), label="argument")
    value = data.draw(hostile_values, label="value")
    _call_safely(function, {**valid, name: value})


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_quantities(data):
    quantity = data.draw(st.sampled_from(sorted(QUANTITIES.values(), key=lambda q: q.name)))
    if not quantity.parameters:
        params: dict[str, str] = {}
    else:
        name = data.draw(st.sampled_from(quantity.parameters), label="parameter")
        text = data.draw(hostile_text, label="text")
        if name in SIZE_PARAMETERS and _is_large_integer_text(text):
            text = "1e999999999"
        params = {p: QUANTITY_DEFAULTS[p] for p in quantity.required}
        params[name] = text
        if quantity.name == "scalar_error" and "k" in params:
            params["design"] = "matmul_lloyd_bias"
    reproduction = f"evaluate(QUANTITIES[{quantity.name!r}], {params!r}, {FUZZ_DIGITS})"
    note(f"reproduce with: {reproduction}")
    try:
        with time_limit(CALL_SECONDS, reproduction):
            result = evaluate(quantity, params, FUZZ_DIGITS)
            to_decimal(result.value, FUZZ_DIGITS)
    except (ValueError, UncertifiedValueError):
        return
    _check_result(result.value)


@pytest.mark.parametrize(
    "levels", [True, 2.0, "3.0", "1e400", 10**5000, Decimal(3), "²", None], ids=precision._shown
)
def test_levels_refuses_non_integers_quickly(levels):
    with pytest.raises(ValueError, match=r"^levels must be an integer"):
        refused_cheaply(scalar_designs.lloyd_max_distortion, levels, digits=10)


def test_levels_takes_numpy_integers():
    value = timed(scalar_designs.lloyd_max_distortion, np.int64(2), digits=10)
    with mpmath.workdps(30):
        assert relative_gap(value, 1 - 2 / mpmath.pi) < mpmath.mpf(10) ** -10  # 1 − 2/π


def test_decimal_context_does_not_matter():
    with decimal.localcontext() as context:
        context.prec = 3
        assert exact_real(Decimal("0.123456789"), "x") == Fraction(123456789, 10**9)
