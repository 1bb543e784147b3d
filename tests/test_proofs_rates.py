"""The §1.1–§1.2 certificates prove their claims, and fail on wrong ones.

Expected values: R* from the Lambert-W closed form (tests/independent.py, a different formula from
the certificate's root bracketing); the sign facts are checked by showing that a wrong claim (a
wrong inflection point, a wrong printed digit, a wrong envelope) makes the certificate fail.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest

from quantmm.proofs import converse_certificate as converse
from quantmm.proofs.critical_rate_certificate import printed_critical_rate, prove_critical_rate
from quantmm.proofs.distortion_rate_certificate import (
    prove_gamma_shape,
    prove_psi_convex_concave,
    prove_tangent_at_critical_rate,
)
from quantmm.proofs.intervals import CertificateFailure, as_fraction, endpoints, precision
from quantmm.proofs.rate_functions import PRECISION_BITS, critical_rate, psi, psi_derivative, s_over

from independent import critical_rate_lambert


def test_critical_rate_enclosure_contains_the_lambert_w_closed_form():
    rate = critical_rate(60)
    assert rate.high - rate.low < Fraction(1, 10**40)
    closed_form = critical_rate_lambert(80)
    assert rate.low < as_fraction(closed_form) < rate.high


def test_critical_rate_certificate_checks_the_printed_digits():
    facts = prove_critical_rate()
    printed = [fact.statement for fact in facts if "prints" in fact.statement]
    assert len(printed) == 3
    assert any(printed_critical_rate(30) in statement for statement in printed)


def test_a_wrong_last_digit_fails_the_critical_rate_certificate():
    def off_by_one_in_the_last_digit(digits: int) -> str:
        text = printed_critical_rate(digits)
        return text[:-1] + str((int(text[-1]) + 1) % 10)

    with pytest.raises(CertificateFailure, match="false"):
        prove_critical_rate(printed=off_by_one_in_the_last_digit)


def test_digits_beyond_the_enclosure_cannot_be_certified():
    # 70 printed digits need an enclosure narrower than 10^-70; this one is 2·10^-60 wide.
    with pytest.raises(CertificateFailure, match="undecided"):
        prove_critical_rate(digits_checked=(70,))


def test_psi_shape_certificate_proves_and_a_wrong_inflection_fails():
    facts = prove_psi_convex_concave()
    assert any("convex" in fact.statement for fact in facts)
    assert any("concave" in fact.statement for fact in facts)
    for wrong in (Fraction(9, 20), Fraction(11, 20)):
        with pytest.raises(CertificateFailure):
            prove_psi_convex_concave(inflection=wrong)


def test_gamma_shape_and_tangent_certificates_prove():
    assert len(prove_gamma_shape()) >= 8
    assert len(prove_tangent_at_critical_rate()) >= 7


def test_the_tangent_slope_is_psi_prime_at_the_critical_rate():
    # Independent of the certificate's own cross-check: evaluate both slopes at 300 bits.
    with precision(PRECISION_BITS):
        rate = critical_rate().enclosure
        s = s_over(rate)
        difference = psi(s) / rate - psi_derivative(s)
        low, high = endpoints(difference)
    assert low <= 0 <= high
    assert high - low < mpmath.mpf(10) ** -55  # R* itself is enclosed to 2·10^-60


def test_concave_envelope_certificate_proves_on_the_grid():
    facts = converse.prove_concave_envelope()
    assert "8 grid rates" in facts[0].statement
    assert "41 grid rates" in facts[1].statement


def test_the_envelope_check_fails_if_gamma_were_phi_below_the_critical_rate(monkeypatch):
    # A broken claim: "ψ is its own concave envelope" (Γ = φ everywhere). The tangent of ψ at
    # R = 1/2 lies below ψ near R*, so the certificate must fail there.
    def tangent_everywhere(rate):
        s = s_over(rate)
        return psi(s), psi_derivative(s)

    monkeypatch.setattr(converse, "envelope_line", tangent_everywhere)
    with pytest.raises(CertificateFailure):
        converse.prove_concave_envelope(grid=(Fraction(1, 2),))


def test_a_wrong_reference_gamma_fails_the_envelope_certificate(monkeypatch):
    # Γ perturbed by 10^-29 at R = 1: the printed 30 digits no longer round the enclosure.
    with mpmath.workdps(40):
        wrong = mpmath.mpf("0.43750000000000000000000000001")
    monkeypatch.setattr(converse, "gamma", lambda rate, digits: wrong)
    with pytest.raises(CertificateFailure, match="false"):
        converse.prove_concave_envelope(grid=(Fraction(1),))


def test_arb_lambert_w_cross_check_proves_and_the_wrong_branch_fails():
    from quantmm.proofs.critical_rate_certificate import prove_critical_rate_by_lambert_w

    facts = prove_critical_rate_by_lambert_w()
    assert "inside the iv enclosure" in facts[-1].statement
    with pytest.raises(CertificateFailure, match="false"):
        prove_critical_rate_by_lambert_w(branch=0)  # W₀ gives the trivial root R = 0
