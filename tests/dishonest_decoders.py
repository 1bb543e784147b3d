"""Decoder and function targets for testing the harness: honest ones and cheating ones.

The cheaters attack the judge rather than the mathematics: run in the harness's own process,
:func:`judge_patching_decoder` and :func:`judge_patching_function` would earn a PASS for wrong
answers by replacing the check's verdict functions (tests/test_sandboxed_targets.py shows that
they do, in a throw-away process). :func:`quantmm.conformance.harness.certify` runs them in a
sandboxed worker, where the patch reaches only the worker's copy of quantmm.
"""

from __future__ import annotations

import os
import time

import numpy as np

from quantmm.fast import closest_point, gamma


def honest_decoder(x, lattice):
    """quantmm's closest point, passed through."""
    return closest_point(x, lattice)


def honest_gamma(rate):
    """quantmm's float64 Γ, passed through."""
    return gamma(rate)


def _patch_the_judges():
    from quantmm.conformance import errors, exactness, numerical

    def always_rule(lattice, x, got):
        return exactness._RULE, False, got

    exactness._judge_rational = always_rule
    exactness._judge_a2 = lambda x, got, bits: (exactness._RULE, False, (0, 0))
    numerical.within_tolerance = lambda summary, tolerance: True
    errors.within_tolerance = numerical.within_tolerance


def judge_patching_decoder(x):
    """Patches the exactness judge to accept anything, then answers zeros."""
    _patch_the_judges()
    return np.zeros_like(x)


def judge_patching_function(rate):
    """Patches the tolerance test to accept anything, then answers Γ + 1."""
    _patch_the_judges()
    return gamma(rate) + 1.0


def exiting_decoder(x):
    """Ends its process at once, skipping every handler."""
    os._exit(0)


def sys_exiting_function(rate):
    """Raises SystemExit (which must be reported, not obeyed)."""
    raise SystemExit(3)


def sleeping_decoder(x):
    """Never answers."""
    time.sleep(3600)
    return x


def file_writing_decoder(x):
    """Writes a file next to this module before answering correctly (the read-only file system
    of the namespace sandbox refuses; elsewhere the private working directory holds it)."""
    with open(os.path.join(os.path.dirname(__file__), "written_by_a_decoder.txt"), "w") as f:
        f.write("a target wrote here")
    return closest_point(x, "Z")


def list_returning_function(rate):
    """Answers a list, not an array."""
    return [float(v) for v in np.asarray(gamma(rate))]
