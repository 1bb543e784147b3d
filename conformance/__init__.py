"""quantmm.conformance: certify any matrix-multiplication quantization kernel against the reference.

The harness takes a kernel implementing :class:`quantmm.protocol.MatmulQuantizer`, or a
factory ``f(seed=..., device=...)`` returning one, runs named checks against the certified mpmath
reference and the converse (theory.md §1.2), and writes a JSON certificate:

- kernel checks (:mod:`.kernel_checks`), judged on what the kernel did in isolated worker
  processes (:mod:`.sandbox`, :mod:`.campaign`) with inputs drawn per run (:mod:`.inputs`):
  ``protocol``, ``output_contract``, ``rate_honesty``, ``determinism``, ``robustness``,
  ``edge_inputs``, ``converse``, ``accuracy_floor``, ``claimed_guarantees``;
- decoder checks (:mod:`.exactness`): ``exactness:<lattice>`` against an exact brute force
  (:mod:`.brute_force`) and the documented tie rule;
- function checks (:mod:`.numerical`): ``numerical_agreement:<function>`` in ulps against stored
  mpmath reference values (:mod:`.reference_data`) and hypothesis-drawn arguments.

Errors are measured one way (:mod:`.errors`: one relative error, one ulp distance, one tolerance
table, one pass rule). The hypothesis strategies are public (:mod:`.strategies`). On the command
line: ``quantmm certify TARGET`` or ``quantmm certify --builtin``; inside a test suite: the
``quantmm_certify`` pytest fixture (:mod:`.pytest_plugin`).

>>> from quantmm.conformance import KERNEL_CHECKS
>>> list(KERNEL_CHECKS)  # doctest: +NORMALIZE_WHITESPACE
['protocol', 'output_contract', 'rate_honesty', 'determinism', 'robustness', 'edge_inputs',
 'converse', 'accuracy_floor', 'claimed_guarantees']
"""

from . import inputs
from .certificate import SCHEMA, Certificate, TargetReport
from .errors import (
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
from .exactness import check_exactness
from .harness import DecoderTarget, FunctionTarget, builtin_targets, certify
from .kernel_checks import KERNEL_CHECKS, KERNEL_TOLERANCES
from .numerical import check_numerical_agreement
from .reference_data import Mismatch, ReferenceData, ReferenceRow, load_reference_data, recompute
from .results import FAIL, PASS, SKIP, CheckResult, Failure
from .targets import (
    KernelCallError,
    KernelTarget,
    TargetError,
    as_target,
    encode_in_fresh_process,
    estimate_in_fresh_process,
    load_kernel,
    load_target,
)
from .verify import verify

__all__ = [
    "CAP",
    "FAIL",
    "KERNEL_CHECKS",
    "KERNEL_TOLERANCES",
    "PASS",
    "SCHEMA",
    "SKIP",
    "TOLERANCES",
    "Certificate",
    "CheckResult",
    "DecoderTarget",
    "ErrorSummary",
    "Failure",
    "FunctionTarget",
    "KernelCallError",
    "KernelTarget",
    "Mismatch",
    "ReferenceData",
    "ReferenceRow",
    "TargetError",
    "TargetReport",
    "Tolerance",
    "as_target",
    "builtin_targets",
    "certify",
    "check_exactness",
    "check_numerical_agreement",
    "correctly_rounded",
    "encode_in_fresh_process",
    "estimate_in_fresh_process",
    "inputs",
    "load_kernel",
    "load_reference_data",
    "load_target",
    "recompute",
    "relative_error",
    "summarize",
    "tolerance_for",
    "ulp_distance",
    "verify",
    "within_tolerance",
]
