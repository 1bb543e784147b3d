"""E[D²], E[D] of named designs (reference/design_error.py) against the high-resolution theory."""

from __future__ import annotations

import mpmath
import pytest

from quantmm.reference import g_opt, g_pd, scalar_error, to_decimal


def test_opt_compander_approaches_twice_g_opt():
    # theory.md §2.3: K²·E[D²] → 2·G_opt(ρ) for the λ* compander. The gap closes like 1/K here,
    # so one Richardson step 2·f(2K) − f(K) must land near the limit, and clearly away from the
    # Panter–Dite constant 2·G_PD(ρ) (2.7% higher at ρ = 0.3). G_opt and G_PD are the closed forms.
    rho = "0.3"
    with mpmath.workdps(30):
        f16 = 16**2 * scalar_error("opt", rho, 16, digits=8).second_moment
        f32 = 32**2 * scalar_error("opt", rho, 32, digits=8).second_moment
        limit, panter_dite = 2 * g_opt(rho, digits=10), 2 * g_pd(rho, digits=10)
        assert f16 < f32 < limit  # approaches from below, monotonically
        extrapolated = 2 * f32 - f16
        assert abs(extrapolated - limit) < 5e-3 * limit
        assert panter_dite - extrapolated > 0.02 * limit


def test_lloyd_max_two_levels_at_independence_is_a_closed_form():
    # Q = ±√(2/π) on both sides, ρ = 0: E[D²] = 1 − (2/π)², E[D] = 0 exactly.
    result = scalar_error("lloyd_max", 0, 2, digits=25)
    with mpmath.workdps(50):
        assert to_decimal(result.second_moment, 25) == to_decimal(1 - (2 / mpmath.pi) ** 2, 25)
    assert result.mean == 0
    assert result.codebook.size == 2


def test_even_matmul_lloyd_at_full_correlation_has_an_exactly_zero_mean():
    result = scalar_error("matmul_lloyd", 1, 4, digits=12)
    assert result.mean == 0
    # The identity behind it: Σ a_i²·P(S_i) = E[X²] = 1 (levels a_i² = E[X² | S_i]).
    with mpmath.workdps(40):
        edges = [-mpmath.inf, *result.codebook.thresholds, mpmath.inf]
        total = sum(
            level**2 * (mpmath.ncdf(edges[i + 1]) - mpmath.ncdf(edges[i]))
            for i, level in enumerate(result.codebook.levels)
        )
        assert abs(total - 1) < mpmath.mpf(10) ** -11


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("nope", 0, 2), "design must be one of"),
        (("opt", 2, 2), "rho must be"),
        (("opt", 0, 0), "levels must be an integer"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        scalar_error(*arguments)
