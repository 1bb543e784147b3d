"""The scalar certificates of theory.md §2.3 (proofs/scalar_certificate.py, density_phase.md).

Each certificate must prove with the true claims and fail (CertificateFailure) with a wrong one.
The independent values are closed forms (√3π/2, 6^(5/6)Γ(5/6), √(3 − 1/ρ²)) recomputed here with
mpmath at high precision, and the certified 30-digit reference values of quantmm.reference.
"""

from __future__ import annotations

import sys
from fractions import Fraction

import mpmath
import pytest
from mpmath import iv

import quantmm.proofs.scalar_certificate as scalar
from quantmm.proofs.intervals import CertificateFailure, Fact, endpoints, precision
from quantmm.proofs.runner import SKIPPED, ArbUnavailable, Certificate, _run_one
from quantmm.reference import density_normalizer, design_gain_db, g_opt

pytest.importorskip("flint")


@pytest.fixture(scope="module")
def phase_facts():
    """One run of the phase-transition certificate, with python-flint made unimportable: the
    certificate must need intervals only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "flint", None)
        return scalar.prove_density_phase_transition()


@pytest.fixture(scope="module")
def constant_facts():
    return scalar.prove_panter_dite_constant()


@pytest.fixture(scope="module")
def normalizer_facts():
    return scalar.prove_normalizer_two_forms()


@pytest.fixture(scope="module")
def gain_facts():
    return scalar.prove_design_gain()


def _texts(facts):
    assert facts and all(isinstance(fact, Fact) for fact in facts)
    return [str(fact) for fact in facts]


# -- the certificates prove ------------------------------------------------------------------


def test_phase_transition_proves_without_arb(phase_facts):
    texts = _texts(phase_facts)
    assert "strictly decreases" in texts[0] and "strictly increases" in texts[1]
    assert "within 1/16 of the predicted stationary set" in texts[2]
    peaks = [t for t in texts if "positive maximum" in t]
    assert len(peaks) == 5  # 0.578, 3/5, 4/5, 19/20, 1
    assert all("the correct rounding to 30 digits" in t for t in peaks)


def test_panter_dite_constant_proves(constant_facts):
    texts = _texts(constant_facts)
    assert len(texts) == 8
    assert sum("the correct rounding to 30 digits" in t for t in texts) == 4


def test_normalizer_two_forms_proves(normalizer_facts):
    texts = _texts(normalizer_facts)
    assert "agree to 10⁻³⁵" in texts[0]
    assert any("49 cells" in t for t in texts)
    assert sum("Riemann sum" in t for t in texts) == 2


def test_design_gain_proves(gain_facts):
    texts = _texts(gain_facts)
    assert texts[0].startswith("G_opt(ρ) < G_PD(ρ) on every one of")
    assert "Jensen" in texts[0]


def test_every_certificate_is_registered_with_its_derivation():
    names = [c.name for c in scalar.CERTIFICATES]
    assert names == [
        "density_phase_transition",
        "panter_dite_constant",
        "normalizer_two_forms",
        "design_gain",
    ]
    assert all(c.derivation == "density_phase.md" for c in scalar.CERTIFICATES)


# -- enclosures against independent values ---------------------------------------------------


def test_peak_enclosure_contains_the_closed_form_at_60_digits():
    """√(3 − 1/ρ²) by mpmath at 60 digits (independent of the certificate's iv arithmetic)."""
    with precision(200), mpmath.workdps(60):
        for rho in (Fraction(3, 5), Fraction(4, 5), Fraction(1)):
            square = iv.mpf(rho.numerator**2) / rho.denominator**2
            low, high = endpoints(iv.sqrt(scalar._true_peak_square(square)))
            exact = mpmath.sqrt(3 - 1 / mpmath.mpf(rho) ** 2)
            assert low <= exact <= high and high - low < mpmath.mpf(10) ** -55


def _close_to_reference(enclosure, reference):
    """The reference's 30 digits agree with the enclosure's midpoint, which is far narrower."""
    with mpmath.workdps(60):
        low, high = endpoints(enclosure)
        assert high - low < mpmath.mpf(10) ** -35 * abs(reference)
        return abs(reference - (low + high) / 2) <= mpmath.mpf(10) ** -30 * abs(reference)


def test_integral_enclosures_contain_closed_forms_and_reference():
    """√(6π), 6^(5/6)Γ(5/6) by mpmath at 60 digits, and the reference's 30-digit values."""
    with mpmath.workdps(60):
        expected = {
            Fraction(0): mpmath.sqrt(6 * mpmath.pi),
            Fraction(1): mpmath.power(6, mpmath.mpf(5) / 6) * mpmath.gamma(mpmath.mpf(5) / 6),
        }
        for rho, value in expected.items():
            low, high = endpoints(scalar._integral_at(rho))
            assert low <= value <= high
    for rho in (Fraction(1, 2), Fraction(9, 10)):
        assert _close_to_reference(scalar._integral_at(rho), density_normalizer(rho))


def test_gain_enclosure_matches_reference():
    for rho in (Fraction(3, 10), Fraction(1)):
        gain = scalar._gain_db(rho, scalar._true_panter_dite_factor)
        assert _close_to_reference(gain, design_gain_db(rho))
    with precision(160):
        optimal = scalar._constant_g(scalar._integral_at(Fraction(1)))
    assert _close_to_reference(optimal, g_opt(1))


# -- wrong claims fail -----------------------------------------------------------------------


def test_wrong_critical_point_fails():
    """ρ_c² = 1/4 instead of 1/3 fails at the exact points (0.577 is then above it)."""
    with pytest.raises(CertificateFailure):
        scalar.prove_density_phase_transition(critical_square=Fraction(1, 4))


@pytest.mark.parametrize(
    ("critical", "message"),
    [
        (Fraction(1, 4), "no peak where one is predicted"),
        (Fraction(2, 5), "predicts decrease|not within 1/16 of the predicted"),
    ],
)
def test_wrong_critical_point_fails_in_the_cover(critical, message):
    """The box cover alone rejects ρ_c² = 1/4 (no peak on 1/4 < ρ² < 1/3) and ρ_c² = 2/5
    (λ* increases, and its peak curve runs, on 1/3 < ρ² < 2/5, where the claim has neither)."""
    with precision(scalar.COVER_BITS), pytest.raises(CertificateFailure, match=message):
        scalar._run_cover(critical, scalar._true_peak_square)


def test_wrong_peak_curve_fails():
    """peak² = 2 − 1/ρ²·(2/3) (vanishes at the right threshold, wrong elsewhere) fails."""
    with pytest.raises(CertificateFailure):
        scalar.prove_density_phase_transition(peak_square=lambda t: 2 - 2 / (3 * t))


def test_perturbed_peak_fails_at_the_exact_points(monkeypatch):
    """peak² = 3 − 1/ρ² + 10⁻²⁰ passes the coarse cover but not the 160-bit peak enclosure."""
    monkeypatch.setattr(scalar, "_run_cover", lambda *args: None)
    monkeypatch.setattr(scalar, "_cover_facts", lambda *args: [])
    with pytest.raises(CertificateFailure, match="peak"):
        scalar.prove_density_phase_transition(peak_square=lambda t: 3 - 1 / t + iv.mpf(10) ** -20)


def test_wrong_panter_dite_constant_fails():
    with pytest.raises(CertificateFailure, match="disjoint"):
        scalar.prove_panter_dite_constant(panter_dite=lambda: iv.sqrt(2) * iv.pi / 2)


def test_perturbed_panter_dite_constant_fails():
    """√3π/2·(1 + 10⁻³⁸): the integral pins G_opt(0) to 10⁻⁴⁰."""
    with pytest.raises(CertificateFailure):
        scalar.prove_panter_dite_constant(
            panter_dite=lambda: iv.sqrt(3) * iv.pi / 2 * (1 + iv.mpf(10) ** -38)
        )


def test_wrong_endpoint_normalizer_fails():
    """6^(5/6)·Γ(1/2) instead of 6^(5/6)·Γ(5/6)."""
    with pytest.raises(CertificateFailure):
        scalar.prove_panter_dite_constant(
            endpoint_normalizer=lambda: iv.mpf(6) ** (iv.mpf(5) / 6) * iv.sqrt(iv.pi)
        )


@pytest.mark.parametrize(
    ("a", "b"), [(Fraction(1, 2), Fraction(5, 6)), (Fraction(1, 3), Fraction(11, 6))]
)
def test_wrong_tricomi_parameters_fail(a, b):
    with pytest.raises(CertificateFailure):
        scalar.prove_normalizer_two_forms(tricomi_a=a, tricomi_b=b)


def test_wrong_panter_dite_growth_fails():
    """G_PD = (√3π/2)(1 + ρ²) is below G_opt for small ρ (m³ ≈ 1 + 2ρ² − 6ρ⁴)."""
    with pytest.raises(CertificateFailure):
        scalar.prove_design_gain(panter_dite_factor=lambda t: 1 + t)


def test_design_gain_start_is_validated():
    with pytest.raises(ValueError, match="start"):
        scalar.prove_design_gain(start=Fraction(0))


# -- the runner skips the arb certificates without python-flint ------------------------------


@pytest.mark.parametrize("index", [1, 2, 3])
def test_arb_certificates_are_skipped_without_python_flint(monkeypatch, index):
    def missing():
        raise ArbUnavailable("this certificate needs python-flint (arb)")

    monkeypatch.setattr(scalar, "require_arb", missing)
    certificate = scalar.CERTIFICATES[index]
    result = _run_one(Certificate(certificate.name, certificate.title, "x.md", certificate.prove))
    assert result.verdict == SKIPPED


# The module's docstring examples run in tests/test_doctests.py (it collects quantmm.proofs).
