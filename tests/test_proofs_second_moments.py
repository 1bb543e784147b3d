"""The normalized-second-moment certificates (proofs/second_moments.md, theory.md §1.4).

Independent computations the tests rely on: the closed forms come from exact Fraction
derivations (the Z integral, the alcove formula) inside the certificate, cross-checked here
against the mpmath reference (`quantmm.reference`) printed to 30 digits and against decimal
values typed from the closed forms' definitions; wrong claims and broken decoders must raise
CertificateFailure. Monte Carlo tests use fixed seeds and the certificate's 5-standard-error
interval.
"""

from __future__ import annotations

import dataclasses
import doctest
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from mpmath import iv

import quantmm.proofs.second_moment_certificate as certificate
from quantmm.fast.lattices import closest_point
from quantmm.proofs.intervals import (
    CertificateFailure,
    as_fraction,
    endpoints,
    interval,
    precision,
)
from quantmm.proofs.second_moment_certificate import (
    CERTIFICATES,
    ROOT_SYSTEMS,
    THEORY_CLOSED_FORMS,
    alcove_second_moment_squared,
    estimate_second_moment,
    prove_closed_forms,
    prove_monte_carlo,
)
from quantmm.reference import lattice_loss_db, normalized_second_moment, to_decimal

SMALL = 200_000  # vectors per lattice for the failing-decoder runs (each well under a second)


@pytest.fixture(scope="module")
def closed_form_facts():
    return prove_closed_forms()


@pytest.fixture(scope="module")
def monte_carlo_facts():
    return prove_monte_carlo()  # the full certificate, run once (~10 s)


def _with(name, value):
    claims = dict(THEORY_CLOSED_FORMS)
    claims[name] = value
    return claims


def test_docstring_examples_pass():
    result = doctest.testmod(
        certificate, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


def test_registered_certificates_name_their_functions_and_derivation():
    names = [c.name for c in CERTIFICATES]
    assert names == ["second_moment_closed_forms", "second_moment_monte_carlo"]
    assert all(c.derivation == "second_moments.md" for c in CERTIFICATES)
    assert [c.prove for c in CERTIFICATES] == [prove_closed_forms, prove_monte_carlo]


# ------------------------------------------------------------------ closed forms


def test_closed_form_certificate_proves(closed_form_facts):
    statements = [fact.statement for fact in closed_form_facts]
    assert len(statements) == 14
    assert "= 1/12 exactly" in statements[0]
    assert statements[1].startswith("G(A2) from the regular hexagon") and "25/3888" in statements[1]
    for name, text in [("Z", "1/144"), ("A2", "25/3888"), ("D4", "169/28800")]:
        assert any(s.startswith(f"G({name}) from") and f"G² = {text}" in s for s in statements)
    assert any("G² = 863041/167961600" in s and "929/12960" in s for s in statements)
    assert any("0.88 dB" in s for s in statements)
    assert statements[-1] == "G(Z) > G(A2) > G(D4) > G(E8)"


def test_alcove_derivation_matches_hand_computed_values():
    # Hand computations in proofs/second_moments.md §3: S = Σ|v_i|² + |Σ v_i|² with C⁻¹.
    expected = {
        "Z": (1, 2),
        "A2": (Fraction(10, 3), 3),
        "D4": (13, 4),
        "E8": (Fraction(929, 18), 1),
    }
    for name, (vertex_sum, determinant) in expected.items():
        derivation = alcove_second_moment_squared(ROOT_SYSTEMS[name])
        assert derivation.vertex_sum == vertex_sum
        assert derivation.cartan_determinant == determinant


@pytest.mark.parametrize("name", ["Z", "A2", "D4", "E8"])
def test_reference_30_digit_values_lie_in_the_enclosures(name):
    # The reference's 30-digit value must be the correct rounding of the enclosed closed form.
    rational, radicand = THEORY_CLOSED_FORMS[name]
    with precision(120):
        g = interval(rational) * iv.sqrt(interval(radicand))
    low, high = (as_fraction(v) for v in endpoints(g))
    printed = Fraction(to_decimal(normalized_second_moment(name, digits=30), 30))
    unit = Fraction(1, 10**31)  # G ∈ [0.01, 0.1): 30 significant digits end at the 31st decimal
    assert printed - unit / 2 <= low and high <= printed + unit / 2


def test_e8_loss_is_088_db_not_065():
    # 10·log10(2πe·929/12960) from mpmath at 40 digits, independent of the certificate.
    with mpmath.workdps(40):
        loss = 10 * mpmath.log10(2 * mpmath.pi * mpmath.e * mpmath.mpf(929) / 12960)
    assert mpmath.nstr(loss, 6) == "0.878851"
    assert to_decimal(lattice_loss_db("E8", digits=6), 6) == "0.878851"
    with pytest.raises(CertificateFailure, match="E8 loss rounds to the claim"):
        prove_closed_forms(claimed_e8_loss_db="0.65")


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("E8", (Fraction(929, 12960) * Fraction(101, 100), 1)),  # perturbed by 1 %
        ("A2", (Fraction(1, 12), 1)),  # A2 claimed no better than Z
        ("D4", (Fraction(13, 240), 3)),  # wrong radicand
        ("Z", (Fraction(1, 12) + Fraction(1, 10**40), 1)),  # off in the 40th digit
    ],
)
def test_wrong_closed_form_fails(name, wrong):
    with pytest.raises(CertificateFailure, match=rf"false: G\({name}\)"):
        prove_closed_forms(claimed=_with(name, wrong))


def test_wrong_weyl_order_or_marks_fail_the_derivation():
    e8 = ROOT_SYSTEMS["E8"]
    with pytest.raises(CertificateFailure, match="alcoves do not fill the covolume"):
        alcove_second_moment_squared(dataclasses.replace(e8, weyl_order=e8.weyl_order // 2))
    with pytest.raises(CertificateFailure, match="norm 2"):
        alcove_second_moment_squared(dataclasses.replace(e8, marks=(1, 3, 4, 6, 5, 4, 3, 2)))
    d4 = ROOT_SYSTEMS["D4"]
    with pytest.raises(CertificateFailure, match="not dominant"):  # α1+α2+α3+α4: norm 2, a root
        alcove_second_moment_squared(dataclasses.replace(d4, marks=(1, 1, 1, 1)))


def test_closed_form_input_checks():
    with pytest.raises(ValueError, match="claimed must name exactly"):
        prove_closed_forms(claimed={"Z": (Fraction(1, 12), 1)})
    with pytest.raises(TypeError, match="claimed"):
        prove_closed_forms(claimed=_with("E8", (929 / 12960, 1)))
    with pytest.raises(ValueError, match="claimed_e8_loss_db"):
        prove_closed_forms(claimed_e8_loss_db="1")


# ------------------------------------------------------------------ Monte Carlo


def test_monte_carlo_certificate_contains_every_closed_form(monte_carlo_facts):
    assert len(monte_carlo_facts) == 4
    for fact, name in zip(monte_carlo_facts, ["Z", "A2", "D4", "E8"], strict=True):
        assert fact.statement.startswith(f"G({name}) = ")
        assert "contains at z = 5, a statistical check, not a proof" in fact.statement
        assert "every Q(x) a lattice point" in fact.evidence


def test_monte_carlo_is_reproducible_and_matches_the_closed_form():
    # Same seed, same bytes; E||e||²/d for E8 (covolume 1) is G(E8) = 929/12960 (5 SE).
    first = estimate_second_moment("E8", 50_000, seed=7)
    second = estimate_second_moment("E8", 50_000, seed=7)
    assert first == second
    assert abs(first.mean - 929 / 12960) < 5 * first.standard_error
    assert estimate_second_moment("E8", 50_000, seed=8).mean != first.mean


def test_e8_decoded_in_d8_only_fails():
    def d8_only(x, name):
        return closest_point(x, "D")

    with pytest.raises(CertificateFailure, match=r"false: G\(E8\)"):
        prove_monte_carlo(decoder=d8_only, samples={"E8": SMALL})


def test_d4_without_parity_fix_fails():
    def z4_rounding(x, name):
        return np.rint(x)

    with pytest.raises(CertificateFailure, match=r"false: G\(D4\)"):
        prove_monte_carlo(decoder=z4_rounding, samples={"D4": SMALL})


def test_decoder_returning_non_lattice_points_fails():
    # Q'(x) = Q(x + c) − c has the right error law but returns points of Λ − c, not of Λ.
    def shifted(x, name):
        return closest_point(x + 0.25, name) - 0.25

    with pytest.raises(CertificateFailure, match="not lattice points"):
        prove_monte_carlo(decoder=shifted, samples={"D4": SMALL})


def test_perturbed_closed_form_fails_the_monte_carlo():
    wrong = (Fraction(929, 12960) * Fraction(101, 100), 1)
    with pytest.raises(CertificateFailure, match=r"false: G\(E8\)"):
        prove_monte_carlo(claimed=_with("E8", wrong), samples={"E8": SMALL})


def test_monte_carlo_input_checks():
    with pytest.raises(ValueError, match="name must be one of"):
        estimate_second_moment("D8", 10, seed=0)
    with pytest.raises(ValueError, match="samples must be an integer"):
        estimate_second_moment("E8", 1, seed=0)
    with pytest.raises(ValueError, match="seed must be"):
        estimate_second_moment("E8", 10, seed=-1)
    with pytest.raises(ValueError, match="samples must map"):
        prove_monte_carlo(samples={"D8": 10})
    with pytest.raises(ValueError, match="z_score"):
        prove_monte_carlo(samples={"Z": 10}, z_score=0)
