"""quantmm.proofs: derivations and interval-arithmetic certificates for the reference.

Each result the reference relies on has a derivation in Markdown (installed next to this module,
e.g. ``critical_rate.md``) and a certificate that proves its numerical part with rigorous
enclosures: :mod:`mpmath.iv` intervals, and python-flint's arb balls (the optional ``proofs``
extra) where an integral or Tricomi's U must be enclosed. Comparisons go through the "certainly
below / certainly above" helpers of :mod:`quantmm.proofs.intervals`, for which an undecidable
comparison is a failure. ``quantmm prove`` runs them all (:mod:`quantmm.proofs.runner`).
"""

from .intervals import CertificateFailure, Fact
from .runner import CERTIFICATES, ArbUnavailable, Certificate, CertificateResult, run

__all__ = [
    "CERTIFICATES",
    "ArbUnavailable",
    "Certificate",
    "CertificateFailure",
    "CertificateResult",
    "Fact",
    "run",
]
