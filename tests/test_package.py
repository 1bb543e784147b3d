"""The installed layout: one import name, the front door, and precision isolation."""

from __future__ import annotations

import mpmath

import quantmm
import quantmm.reference


def test_the_front_door_re_exports_the_reference_and_the_protocol():
    import quantmm.protocol

    for name in quantmm.reference.__all__:
        assert getattr(quantmm, name) is getattr(quantmm.reference, name)
    own = set(quantmm.__all__) - set(quantmm.reference.__all__)
    assert own == {"__version__", "MatmulQuantizer", "bits_per_entry"}
    assert quantmm.MatmulQuantizer is quantmm.protocol.MatmulQuantizer
    assert quantmm.bits_per_entry is quantmm.protocol.bits_per_entry


def test_the_subpackages_install_under_one_import_name():
    import quantmm.conformance
    import quantmm.fast
    import quantmm.proofs

    for package in (quantmm.reference, quantmm.fast, quantmm.conformance, quantmm.proofs):
        assert package.__name__.startswith("quantmm.")


def test_every_certificate_names_a_derivation_that_is_installed():
    from importlib import resources

    from quantmm.proofs import CERTIFICATES

    for certificate in CERTIFICATES:
        derivation = resources.files("quantmm.proofs") / certificate.derivation
        assert derivation.is_file(), f"{certificate.name}: {certificate.derivation} not installed"


def test_certificates_leave_the_interval_precision_alone():
    from mpmath import iv

    from quantmm.proofs import run

    before = iv.prec
    run(["critical_rate", "gamma_shape"])
    assert iv.prec == before


def test_mpmath_is_recent_enough():
    # 1.4 makes undecidable interval comparisons raise (see pyproject.toml).
    major, minor = (int(part) for part in mpmath.__version__.split(".")[:2])
    assert (major, minor) >= (1, 4)


def test_reference_calls_leave_the_global_precision_alone():
    before = mpmath.mp.prec
    quantmm.gamma("0.3", digits=200)
    quantmm.unequal_rates(1, 2, digits=100)
    quantmm.gamma_inverse("1e-9", digits=300)
    assert mpmath.mp.prec == before


def test_the_precision_fixture_isolates_tests_first():
    # Leaks a high precision on purpose; the autouse fixture must undo it before the next test.
    mpmath.mp.dps = 500


def test_the_precision_fixture_isolates_tests_second():
    assert mpmath.mp.dps == 15


_REFERENCE_ALONE = """
import importlib, json, pkgutil, sys
import quantmm.reference
for module in pkgutil.iter_modules(quantmm.reference.__path__):
    importlib.import_module("quantmm.reference." + module.name)
names = [m for m in sys.modules if m.startswith(("quantmm.fast", "quantmm.conformance"))]
print(json.dumps(names))
"""


def test_the_reference_imports_nothing_from_fast_or_conformance(tmp_path):
    """The reference is the judge of the fast path: importing every module of quantmm.reference
    in a fresh interpreter loads no module of quantmm.fast or quantmm.conformance (run from a
    temporary folder, so the installed package is the one imported)."""
    import json
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", _REFERENCE_ALONE], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []
