"""quantmm.conformance.errors: the one error metric, the tolerance table and the pass rule.

Expected values are hand-computed (stated next to each case) or exact: Fractions for relative
errors and roundings, counted ``np.nextafter`` steps for ulp distances (independent of the bit
map the module uses), and NumPy's own correctly rounded float64 → float32 conversion for values
that are exactly float64.
"""

from __future__ import annotations

import doctest
import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from test_fast_functions import DENSITY_ULPS, GAMMA_ULPS, PHI_ULPS

import quantmm.conformance.errors as errors_module
from quantmm.conformance.errors import (
    CAP,
    TOLERANCES,
    ErrorSummary,
    Tolerance,
    correctly_rounded,
    relative_error,
    summarize,
    tolerance_for,
    ulp_distance,
    within_tolerance,
)

F64_TINY = 2.2250738585072014e-308  # 2^−1022
F64_SUBNORMAL = 5e-324  # 2^−1074
F32_TINY = float(np.finfo(np.float32).tiny)  # 2^−126
F32_SUBNORMAL = float(np.float32(2.0**-149))


def test_module_docstring_examples():
    result = doctest.testmod(errors_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# --- relative_error ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("computed", "exact", "expected"),
    [
        (1.0, 1.0, 0.0),
        (-0.0, 0.0, 0.0),  # equal values
        (math.nan, math.nan, 0.0),
        (math.inf, math.inf, 0.0),
        (-math.inf, -math.inf, 0.0),
        (math.inf, -math.inf, CAP),
        (math.inf, 1e308, CAP),
        (1e308, math.inf, CAP),
        (math.nan, 1.0, CAP),
        (1.0, math.nan, CAP),
        (math.nan, math.inf, CAP),
        (1.5, 1.0, 0.5),  # |1.5 − 1|/1
        (-3.0, 1.0, 4.0),
        (1e308, -1e308, 2.0),  # the difference overflows; the relative error is still 2
        (0.0, 2.0, 1.0),
        (F64_TINY, 0.0, 1.0),  # against zero: in units of the smallest normal
        (-3 * F64_TINY, 0.0, 3.0),
        (F64_SUBNORMAL, 0.0, 2.0**-52),
        (1e300, 0.0, CAP),  # 1e300/2^−1022 is far beyond the cap
        (1e300, 1e-300, CAP),
    ],
)
def test_relative_error_hand_computed_float64(computed, exact, expected):
    assert float(relative_error(np.float64(computed), np.float64(exact))) == expected


def test_relative_error_float32_uses_the_float32_smallest_normal():
    computed = np.array([F32_TINY, F32_SUBNORMAL, 1.0], dtype=np.float32)
    exact = np.zeros(3, dtype=np.float32)
    assert relative_error(computed, exact).tolist() == [1.0, 2.0**-23, CAP]  # 1/2^−126 > 2^64
    assert relative_error(np.float32(1.5), np.float32(1.0)) == 0.5


def test_relative_error_matches_exact_fractions_on_random_pairs():
    """|c − e|/|e| in exact rationals; the float computation rounds the difference (exact when
    Sterbenz applies) and the quotient, so it agrees to within 2 roundings (relative 2^−51)."""
    rng = np.random.default_rng(11)
    exact = rng.normal(size=200) * np.exp2(rng.integers(-300, 300, 200))
    computed = exact * (1 + rng.normal(size=200) * np.exp2(rng.integers(-50, 2, 200)))
    measured = relative_error(computed, exact)
    for c, e, m in zip(computed, exact, measured, strict=True):
        truth = abs(Fraction(c) - Fraction(e)) / abs(Fraction(e))
        assert abs(Fraction(m) - truth) <= truth * Fraction(1, 2**51)


def test_relative_error_is_float64_of_the_shape_and_capped():
    result = relative_error(np.ones((2, 3)), np.full((2, 3), 1e-308))
    assert result.shape == (2, 3) and result.dtype == np.float64
    assert np.all(result == CAP) and np.all(np.isfinite(result))


def test_relative_error_rejects_bad_arguments():
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="computed must be float32 or float64"):
        relative_error(np.zeros(2, dtype=np.int64), np.zeros(2))
    with pytest.raises(TypeError, match="exact must be float32 or float64"):
        relative_error(np.zeros(2), np.zeros(2, dtype=np.float16))


# --- ulp_distance --------------------------------------------------------------------------------


def _walk(start, steps: int, towards: float):
    """``start`` moved ``steps`` representable floats towards ``towards`` by np.nextafter."""
    value = start
    for _ in range(steps):
        value = np.nextafter(value, type(start)(towards))
    return value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("start", "steps", "towards"),
    [
        (1.0, 1, 2.0),
        (1.0, 3, 0.0),  # crosses the binade boundary below 1
        (2.0, 5, 0.0),
        (-1.0, 4, 0.0),
        (0.0, 3, 1.0),  # into the subnormals
        (-0.0, 3, -1.0),
        (None, 7, 1.0),  # None: start at the smallest normal; walk up
        (None, 7, 0.0),  # and down, from the normals into the subnormals
        (-2.0, 6, 2.0),
    ],
)
def test_ulp_distance_counts_nextafter_steps(dtype, start, steps, towards):
    first = np.finfo(dtype).tiny if start is None else dtype(start)
    first = dtype(first)
    last = _walk(first, steps, towards)
    assert ulp_distance(np.array([first]), np.array([last])).tolist() == [steps]
    assert ulp_distance(np.array([last]), np.array([first])).tolist() == [steps]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ulp_distance_across_zero(dtype):
    """−s to +s is 2 steps (−s → −0 ≡ +0 → s); ±0 are the same point."""
    smallest = _walk(dtype(0.0), 1, 1.0)
    assert ulp_distance(np.array([-smallest]), np.array([smallest])).tolist() == [2.0]
    assert ulp_distance(np.array([-0.0], dtype=dtype), np.array([0.0], dtype=dtype)) == 0
    below = _walk(dtype(0.0), 3, -1.0)
    above = _walk(dtype(0.0), 4, 1.0)
    assert ulp_distance(np.array([below]), np.array([above])).tolist() == [7.0]


def test_ulp_distance_whole_binades():
    """[1, 2) holds 2^52 float64 (2^23 float32) values; [−1, 1] twice the count below 1."""
    assert ulp_distance(np.array([1.0]), np.array([2.0])).tolist() == [2.0**52]
    one32, two32 = np.array([1.0], np.float32), np.array([2.0], np.float32)
    assert ulp_distance(one32, two32).tolist() == [2.0**23]
    # Below 1.0: 1023 binades of 2^52 floats each, from +0 (which is 0 apart from −0).
    assert ulp_distance(np.array([-1.0]), np.array([1.0])).tolist() == [2.0 * 1023 * 2**52]
    largest = np.finfo(np.float64).max
    assert ulp_distance(np.array([-largest]), np.array([largest])).tolist() == [
        float(2 * (2047 * 2**52 - 1))
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ulp_distance_nan_and_infinity_rules(dtype):
    nan, inf = dtype(np.nan), dtype(np.inf)
    largest = np.finfo(dtype).max
    computed = np.array([nan, nan, 1.0, inf, inf, -inf, largest, inf], dtype=dtype)
    exact = np.array([nan, 1.0, nan, inf, -inf, -inf, inf, largest], dtype=dtype)
    assert ulp_distance(computed, exact).tolist() == [0, CAP, CAP, 0, CAP, 0, CAP, CAP]


def test_ulp_distance_requires_one_dtype_and_shape():
    with pytest.raises(TypeError, match="exact must already have the dtype of computed"):
        ulp_distance(np.zeros(2), np.zeros(2, dtype=np.float32))
    with pytest.raises(ValueError, match="same shape"):
        ulp_distance(np.zeros(2), np.zeros((2, 1)))
    with pytest.raises(TypeError, match="float32 or float64"):
        ulp_distance(np.zeros(2, dtype=np.int32), np.zeros(2, dtype=np.int32))


def test_ulp_distance_keeps_shape_and_scalars():
    assert ulp_distance(np.ones((2, 2)), np.ones((2, 2))).shape == (2, 2)
    assert ulp_distance(np.float64(1.0), 1.0) == 0  # 0-d in, 0-d out
    assert ulp_distance(np.float64(1.0), 1.0).shape == ()


# --- correctly_rounded ---------------------------------------------------------------------------

HALF_ULP_ABOVE_ONE_64 = Fraction(1, 2**53)
HALF_ULP_ABOVE_ONE_32 = Fraction(1, 2**24)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 3), 1 / 3),  # IEEE division is correctly rounded
        ("0.1", 0.1),  # Python's float("0.1") is correctly rounded
        (1 + HALF_ULP_ABOVE_ONE_64, 1.0),  # a tie: to the even neighbour 1
        (1 + 3 * HALF_ULP_ABOVE_ONE_64, 1 + 2.0**-51),  # a tie between odd and even: to even
        (1 + HALF_ULP_ABOVE_ONE_64 + Fraction(1, 2**200), 1 + 2.0**-52),  # just above the tie
        (Fraction(1, 2**1075), 0.0),  # half the smallest subnormal: tie to even (0)
        (Fraction(3, 2**1076), F64_SUBNORMAL),  # 0.75 of it
        (Fraction(3, 2**1075), 2 * F64_SUBNORMAL),  # 1.5 of it: tie to even (2)
        (Fraction(2**1024 - 2**970), math.inf),  # half an ulp above the largest: tie → overflow
        (Fraction(2**1024 - 2**970 - 1), 1.7976931348623157e308),
        (-Fraction(2**1025), -math.inf),
        (-Fraction(1, 2**1076), -0.0),
        (7, 7.0),
        (0, 0.0),
        ("1/3", 1 / 3),
    ],
)
def test_correctly_rounded_float64_hand_cases(value, expected):
    result = correctly_rounded(value, "float64")
    assert isinstance(result, np.float64)
    assert float(result) == expected and math.copysign(1, result) == math.copysign(1, expected)


F32_MAX = float(np.finfo(np.float32).max)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1 + HALF_ULP_ABOVE_ONE_32, 1.0),  # a tie: to even
        (1 + 3 * HALF_ULP_ABOVE_ONE_32, 1 + 2.0**-22),
        # Rounding to float64 first lands exactly on the float32 tie 1 + 2^−24 and then goes to 1:
        # double rounding. The value is above the tie, so the answer is 1 + 2^−23.
        (1 + HALF_ULP_ABOVE_ONE_32 + Fraction(1, 2**60), 1 + 2.0**-23),
        (Fraction(1, 2**150), 0.0),  # half the smallest float32 subnormal: tie to 0
        (Fraction(3, 2**151), F32_SUBNORMAL),
        (Fraction(5, 2**151), F32_SUBNORMAL),  # 1.25 of it
        (Fraction(2**128 - 2**103), math.inf),  # half an ulp above the float32 maximum
        (Fraction(2**128 - 2**103 - 1), F32_MAX),
        (-Fraction(2**200), -math.inf),
        (-Fraction(1, 2**151), -0.0),
        ("0.1", float(np.float32(0.1))),
    ],
)
def test_correctly_rounded_float32_hand_cases(value, expected):
    result = correctly_rounded(value, "float32")
    assert isinstance(result, np.float32)
    assert float(result) == expected and math.copysign(1, result) == math.copysign(1, expected)


def test_float32_double_rounding_case_really_differs_from_going_through_float64():
    value = 1 + HALF_ULP_ABOVE_ONE_32 + Fraction(1, 2**60)
    assert float(np.float32(float(value))) == 1.0  # the wrong answer this module avoids
    assert float(correctly_rounded(value, np.float32)) == 1 + 2.0**-23


def test_correctly_rounded_float32_agrees_with_numpy_on_exact_float64_values():
    """NumPy converts an exact float64 to float32 with one correct rounding (IEEE), which is the
    right answer whenever the value is itself a float64: normal, subnormal and overflowing."""
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.normal(size=300) * np.exp2(rng.integers(-160, 130, 300)),
            rng.integers(1, 2**30, 100) * 2.0**-175,  # around the float32 subnormals
            (1 + rng.integers(0, 2**29, 50) * 2.0**-53) * 2.0**127,  # near float32 overflow
        ]
    )
    with np.errstate(over="ignore"):
        expected = values.astype(np.float32)
    got = np.array([correctly_rounded(Fraction(v), "float32") for v in values], dtype=np.float32)
    assert np.array_equal(got, expected)


def test_correctly_rounded_float64_generic_rounding_agrees_with_python():
    """The module's exact integer rounding (used for float32) gives Python's float(Fraction)
    when asked for the float64 format, on random fractions of every magnitude."""
    rng = np.random.default_rng(5)
    for _ in range(300):
        numerator = int(rng.integers(1, 2**62)) * 2 ** int(rng.integers(0, 40))
        denominator = int(rng.integers(1, 2**62))
        scale = Fraction(2) ** int(rng.integers(-1150, 1030))
        value = Fraction(numerator, denominator) * scale
        try:
            expected = float(value)
        except OverflowError:
            expected = math.inf
        assert errors_module._round_fraction(value, "float64") == expected


def test_correctly_rounded_mpf_inputs():
    with mpmath.workdps(50):
        third = mpmath.mpf(1) / 3
    assert float(correctly_rounded(third)) == 1 / 3
    assert float(correctly_rounded(mpmath.mpf(2) ** -1075)) == 0.0
    assert math.isinf(correctly_rounded(mpmath.inf)) and correctly_rounded(-mpmath.inf) < 0
    assert math.isnan(correctly_rounded(mpmath.nan, "float32"))


@pytest.mark.parametrize(
    ("value", "dtype", "error", "message"),
    [
        (True, "float64", TypeError, "bool"),
        ([1.0], "float64", TypeError, "value must be an mpmath mpf"),
        ("one", "float64", ValueError, "decimal or rational string"),
        (1.0, "float16", TypeError, "dtype must be float32 or float64"),
        (1.0, "int64", TypeError, "dtype must be float32 or float64"),
    ],
)
def test_correctly_rounded_bad_arguments(value, dtype, error, message):
    with pytest.raises(error, match=message):
        correctly_rounded(value, dtype)


# --- summaries, tolerances, the pass rule --------------------------------------------------------


def test_summarize_hand_computed():
    """Against 1, 2, 4, 8: exact, 1 ulp above 2, 3 ulps below 4, exact. ulps [0, 1, 3, 0]:
    worst 3 at index 2, RMS √(10/4). In eps = 2^−52: 1 ulp above 2 is 2^−51, relative 2^−52 →
    1 eps; 3 ulps below 4 are 3·2^−51, relative 3·2^−53 → 1.5 eps; RMS √((1 + 1.5²)/4)."""
    exact = np.array([1.0, 2.0, 4.0, 8.0])
    computed = np.array([1.0, _walk(2.0, 1, 3.0), _walk(4.0, 3, 0.0), 8.0])
    inputs = [{"x": 0.5}, {"x": 1.0}, {"x": 2.0}, {"x": 3.0}]
    summary = summarize(computed, exact, inputs)
    assert summary.count == 4
    assert summary.worst_ulps == 3.0 and summary.worst_index == 2
    assert summary.rms_ulps == math.sqrt(10 / 4)
    assert summary.worst_eps == 1.5
    assert summary.rms_eps == math.sqrt((1.0 + 1.5**2) / 4)
    assert summary.worst_input == {"x": (2.0).hex()}
    text = json.dumps(summary.to_json())
    assert json.loads(text)["worst_input"] == {"x": "0x1.0000000000000p+1"}


def test_summarize_float32_uses_float32_eps():
    exact = np.array([1.0], dtype=np.float32)
    computed = np.array([np.nextafter(np.float32(1.0), np.float32(2.0))])
    summary = summarize(computed, exact, [1.0])
    assert (summary.worst_ulps, summary.worst_eps) == (1.0, 1.0)


def test_summarize_nan_is_capped_and_json_safe():
    summary = summarize(np.array([np.nan, 1.0]), np.array([1.0, 1.0]), ["a", "b"])
    assert summary.worst_ulps == CAP and summary.worst_index == 0 and summary.worst_input == "a"
    assert math.isfinite(summary.rms_eps)
    json.dumps(summary.to_json(), allow_nan=False)


def test_summarize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="one entry per value"):
        summarize(np.zeros(2), np.zeros(2), [1.0])
    with pytest.raises(ValueError, match="must not be empty"):
        summarize(np.zeros(0), np.zeros(0), [])


def test_numpy_tolerances_are_the_fast_path_tests_error_analysis():
    """The table's NumPy rows are the bounds derived in tests/test_fast_functions.py."""
    assert tolerance_for("phi", "float64", "numpy").max_ulps == PHI_ULPS == 4
    assert tolerance_for("gamma", "float64", "numpy").max_ulps == GAMMA_ULPS == 4
    assert tolerance_for("optimal_density", np.float64, "numpy").max_ulps == DENSITY_ULPS == 9


def test_every_function_has_a_row_per_backend_and_cupy_is_no_tighter():
    for function in ("gamma", "phi", "optimal_density"):
        numpy_row = tolerance_for(function, "float64", "numpy")
        cupy_row = tolerance_for(function, "float64", "cupy")
        assert cupy_row.max_ulps >= numpy_row.max_ulps
        assert numpy_row.reason and cupy_row.reason and cupy_row.reason != numpy_row.reason
    assert all(isinstance(row, Tolerance) for row in TOLERANCES.values())


@pytest.mark.parametrize(
    ("function", "dtype", "backend"),
    [("gamma", "float32", "numpy"), ("gamma", "float64", "torch"), ("erf", "float64", "numpy")],
)
def test_missing_tolerance_rows_raise_key_error_naming_the_row(function, dtype, backend):
    with pytest.raises(KeyError, match=f"no tolerance for function '{function}'") as raised:
        tolerance_for(function, dtype, backend)
    assert "gamma/float64/numpy" in str(raised.value)  # the message lists the rows there are


def test_the_pass_rule_is_worst_ulps_at_most_the_bound():
    def summary(worst: float) -> ErrorSummary:
        return ErrorSummary(1, worst, worst, 0.0, 0.0, 0, None)

    assert within_tolerance(summary(4.0), Tolerance(4.0, "x"))
    assert not within_tolerance(summary(np.nextafter(4.0, 5.0)), Tolerance(4.0, "x"))
    assert not within_tolerance(summary(5.0), Tolerance(4.0, "x"))
    assert not within_tolerance(summary(CAP), Tolerance(1e6, "x"))
