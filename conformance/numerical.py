"""The numerical-agreement check: fast float64 functions against the mpmath reference, in ulps.

Issue #5, "Numerical agreement": a vectorized implementation of Γ, φ (theory.md §1.1) or the
optimal point density λ* (theory.md §2.3) is evaluated on every stored reference row
(:mod:`quantmm.conformance.reference_data`, certified at 40 digits) and on hypothesis-generated
arguments (reference values computed on the fly, certified at 25 digits), each reference value
correctly rounded to float64. The errors are measured with the harness's one metric
(:func:`~quantmm.conformance.errors.ulp_distance`, summarized by
:func:`~quantmm.conformance.errors.summarize`) and judged by the one pass rule
(:func:`~quantmm.conformance.errors.within_tolerance`) against the table
(:data:`~quantmm.conformance.errors.TOLERANCES`) row of the function and backend.

Calling conventions: ``implementation(rates)`` for "gamma" and "phi"; ``implementation(u, rho)``
for "optimal_density" (``u`` an array, ``rho`` a Python float; the rows are grouped by ρ).
On backend "cupy" the arrays passed are CuPy arrays.

>>> from quantmm.fast import gamma
>>> result = check_numerical_agreement("gamma", gamma)
>>> result.name, result.verdict, result.figures["worst_ulps"] <= result.tolerance["max_ulps"]
('numerical_agreement:gamma', 'pass', True)
"""

from __future__ import annotations

import functools
import hashlib
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from quantmm import reference
from quantmm.fast.backend import cupy_or_none, to_numpy

from .errors import correctly_rounded, summarize, tolerance_for, ulp_distance, within_tolerance
from .reference_data import DENSITY_RHOS, ReferenceData, load_reference_data
from .results import FAIL, PASS, SKIP, CheckResult, Failure
from .sandboxed_call import SandboxedCallError
from .strategies import draw_examples

__all__ = ["CHECK_PREFIX", "FUNCTIONS", "GENERATED_DIGITS", "check_numerical_agreement"]

#: The check's name is ``CHECK_PREFIX + function name``.
CHECK_PREFIX = "numerical_agreement:"
#: The functions this check knows, with their argument names.
FUNCTIONS = {"gamma": ("rate",), "phi": ("rate",), "optimal_density": ("u", "rho")}
#: Digits of the on-the-fly reference values (then correctly rounded to float64).
GENERATED_DIGITS = 25
#: hypothesis examples per profile.
EXAMPLES = {"quick": 50, "full": 2000}
_BACKENDS = ("numpy", "cupy")
_DTYPE = "float64"


# --- arguments ------------------------------------------------------------------------------------


def _rates() -> st.SearchStrategy[float]:
    """Rates over [0, 600] (subnormal φ beyond ~511.5), with extra weight on [0, 4] (both
    branches of Γ) and on [0.85, 0.95] (around R* ≈ 0.906)."""
    return st.one_of(
        st.floats(0.0, 600.0), st.floats(0.0, 4.0), st.floats(0.85, 0.95), st.floats(0.0, 1e-3)
    )


def _density_arguments(profile: str) -> st.SearchStrategy[tuple[float, float]]:
    """(u, ρ): u over [−60, 60] with extra weight on [−4, 4] (the peaks); ρ among the stored
    correlations, and in the full profile also any ρ in [−1, 1] (each new ρ costs a certified
    normalizer, ~0.2 s)."""
    points = st.one_of(st.floats(-60.0, 60.0), st.floats(-4.0, 4.0))
    rhos: st.SearchStrategy[float] = st.sampled_from(DENSITY_RHOS)
    if profile == "full":
        rhos = st.one_of(rhos, st.floats(-1.0, 1.0))
    return st.tuples(points, rhos)


def _generated_arguments(function: str, profile: str, seed: int) -> list[tuple[float, ...]]:
    """The hypothesis examples for ``function``: distinct argument tuples in the order drawn,
    the same for the same ``seed`` (and hypothesis version), whatever else is imported."""
    strategy = (
        _density_arguments(profile)
        if function == "optimal_density"
        else st.tuples(_rates())  # one-argument tuples
    )
    drawn = draw_examples(strategy, EXAMPLES[profile], seed)
    found = [tuple(float(a) for a in arguments) for arguments in drawn]
    return list(dict.fromkeys(found))


def _reference_value(function: str, arguments: tuple[float, ...], digits: int) -> np.float64:
    evaluate = getattr(reference, function)
    return correctly_rounded(evaluate(*arguments, digits=digits), _DTYPE)


@functools.lru_cache(maxsize=1)
def _installed_reference_data() -> ReferenceData:
    """The package's verified reference data, loaded once (it is immutable)."""
    return load_reference_data()


# --- evaluation -----------------------------------------------------------------------------------


class _TargetError(Exception):
    """The implementation misbehaved (raised, or returned something unusable) on a batch whose
    first argument tuple is ``arguments``."""

    def __init__(self, message: str, arguments: tuple[float, ...] = ()) -> None:
        super().__init__(message)
        self.arguments = arguments


def _call(implementation: Callable[..., Any], xp: Any, points: np.ndarray, *rest: Any):
    first = (float(points[0]), *rest)
    batch = f"(on a batch of {points.size} arguments)"
    try:
        result = implementation(xp.asarray(points), *rest)
    except SandboxedCallError as error:  # already says what the target did
        raise _TargetError(f"{error} {batch}", first) from error
    except Exception as error:
        raise _TargetError(f"raised {type(error).__name__}: {error} {batch}", first) from error
    try:
        values = np.asarray(to_numpy(result))
    except Exception as error:
        message = f"returned an unreadable {type(result).__name__}: {error} {batch}"
        raise _TargetError(message, first) from error
    if values.shape != points.shape:
        message = f"returned shape {values.shape} for input shape {points.shape}"
        raise _TargetError(message, first)
    if values.dtype != np.float64:
        raise _TargetError(f"returned dtype {values.dtype}, expected float64 {batch}", first)
    return values


def _evaluate(
    function: str, implementation: Callable[..., Any], xp: Any, arguments: list[tuple[float, ...]]
) -> np.ndarray:
    """The implementation's values at ``arguments`` (vectorized; λ* one call per ρ)."""
    if function != "optimal_density":
        return _call(implementation, xp, np.array([a[0] for a in arguments], dtype=np.float64))
    values = np.empty(len(arguments), dtype=np.float64)
    groups: dict[float, list[int]] = {}
    for index, (_, rho) in enumerate(arguments):
        groups.setdefault(rho, []).append(index)
    for rho, indices in groups.items():
        points = np.array([arguments[i][0] for i in indices], dtype=np.float64)
        values[indices] = _call(implementation, xp, points, rho)
    return values


# --- the check ------------------------------------------------------------------------------------


def _validated(function_name: Any, backend: Any, profile: Any, seed: Any) -> None:
    if function_name not in FUNCTIONS:
        raise ValueError(f"function_name must be one of {sorted(FUNCTIONS)}, got {function_name!r}")
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if profile not in EXAMPLES:
        raise ValueError(f"profile must be one of {tuple(EXAMPLES)}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _named(function_name: str, arguments: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(FUNCTIONS[function_name], arguments, strict=True))


def _implementation_source(implementation: Callable[..., Any]) -> str:
    given = getattr(implementation, "reproduction_source", None)  # a sandboxed target's own
    if isinstance(given, str):
        return given + "\n"
    module = getattr(implementation, "__module__", None)
    qualname = getattr(implementation, "__qualname__", "")
    if module and qualname and "<" not in qualname:
        top, _, rest = qualname.partition(".")
        attribute = f".{rest}" if rest else ""
        return f"from {module} import {top}\nimplementation = {top}{attribute}\n"
    return "implementation = ...  # the implementation that was checked\n"


def _reproduction(
    function_name: str,
    implementation: Callable[..., Any],
    arguments: tuple[float, ...],
    backend: str,
    profile: str,
    seed: int,
) -> str:
    literals = [f"float.fromhex({a.hex()!r})" for a in arguments]
    array = "cupy" if backend == "cupy" else "np"
    call = (
        f"implementation({array}.asarray([{literals[0]}]){''.join(', ' + x for x in literals[1:])})"
    )
    return (
        "import numpy as np\n"
        + ("import cupy\n" if backend == "cupy" else "")
        + "from quantmm import reference\n"
        "from quantmm.conformance.errors import correctly_rounded, ulp_distance\n"
        "from quantmm.conformance.numerical import check_numerical_agreement\n"
        + _implementation_source(implementation)
        + f"got = np.asarray({call}"
        + (".get()" if backend == "cupy" else "")
        + ")\n"
        f"exact = reference.{function_name}({', '.join(literals)}, digits=40)\n"
        "expected = np.array([correctly_rounded(exact, 'float64')])\n"
        "print(got[0].hex(), expected[0].hex(), ulp_distance(got, expected))\n"
        f"print(check_numerical_agreement({function_name!r}, implementation, "
        f"backend={backend!r}, profile={profile!r}, seed={seed}))\n"
    )


def _fingerprint(arguments: list[tuple[float, ...]]) -> str:
    text = ";".join(",".join(a.hex() for a in row) for row in arguments)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def check_numerical_agreement(
    function_name: str,
    implementation: Callable[..., Any],
    *,
    backend: str = "numpy",
    profile: str = "quick",
    seed: int = 0,
    data: ReferenceData | None = None,
) -> CheckResult:
    """Hold ``implementation`` of ``function_name`` ("gamma", "phi" or "optimal_density")
    against the mpmath reference in ulps (theory.md §1.1, §2.3).

    Evaluates the stored reference rows (``data``, default :func:`load_reference_data`) and
    ~50 (``profile="quick"``) or ~2000 (``"full"``) hypothesis examples drawn under ``seed``;
    PASS when the worst ulp distance is within the :data:`~quantmm.conformance.errors.TOLERANCES`
    row (function, float64, backend). The figures give the worst and RMS error (ulps and eps),
    the worst input and the reference data's checksum; a FAIL gives the worst input, the
    expected and computed values in hex and a reproduction. SKIP on backend "cupy" without a
    visible GPU. An implementation that raises or returns the wrong shape or dtype FAILs.

    >>> check_numerical_agreement("phi", lambda r: 1 - (1 - 2 ** (-2 * r)) ** 2).verdict
    'fail'
    """
    _validated(function_name, backend, profile, seed)
    name = CHECK_PREFIX + function_name
    tolerance = tolerance_for(function_name, _DTYPE, backend)
    tolerance_json = {**tolerance.to_json(), "dtype": _DTYPE, "backend": backend}
    if backend == "cupy":
        xp = cupy_or_none()
        if xp is None:
            return CheckResult(
                name, SKIP, "backend 'cupy' needs CuPy and a visible GPU", {}, tolerance_json
            )
    else:
        xp = np
    data = _installed_reference_data() if data is None else data
    stored = data.rows_for(function_name)
    generated = _generated_arguments(function_name, profile, seed)
    arguments = [row.args for row in stored] + generated
    expected = np.array(
        [correctly_rounded(row.value, _DTYPE) for row in stored]
        + [_reference_value(function_name, a, GENERATED_DIGITS) for a in generated],
        dtype=np.float64,
    )
    figures: dict[str, Any] = {
        "function": function_name,
        "backend": backend,
        "dtype": _DTYPE,
        "profile": profile,
        "stored_count": len(stored),
        "generated_count": len(generated),
        "generated_inputs_sha256": _fingerprint(generated),
        "reference_data_checksum": data.checksum,
        "reference_digits": {"stored": data.digits, "generated": GENERATED_DIGITS},
    }
    try:
        computed = _evaluate(function_name, implementation, xp, arguments)
    except _TargetError as error:
        message = f"{function_name} implementation {error}"
        reproduction = _reproduction(
            function_name, implementation, error.arguments, backend, profile, seed
        )
        failure = Failure(
            message, seed, reproduction, {"args": _named_hex(function_name, error.arguments)}
        )
        return CheckResult(name, FAIL, message, figures, tolerance_json, failure)
    inputs = [_named(function_name, a) for a in arguments]
    summary = summarize(computed, expected, inputs)
    split = len(stored)
    ulps = ulp_distance(computed, expected)
    figures.update(summary.to_json())
    figures["stored_worst_ulps"] = float(ulps[:split].max()) if split else 0.0
    figures["generated_worst_ulps"] = float(ulps[split:].max()) if generated else 0.0
    worst = summary.worst_index
    if within_tolerance(summary, tolerance):
        text = (
            f"{function_name} within {summary.worst_ulps:g} ulps (RMS {summary.rms_ulps:.3g}) "
            f"of the reference on {summary.count} arguments; bound {tolerance.max_ulps:g}"
        )
        return CheckResult(name, PASS, text, figures, tolerance_json)
    got, want = float(computed[worst]), float(expected[worst])
    shown = ", ".join(f"{k}={v!r}" for k, v in _named(function_name, arguments[worst]).items())
    message = (
        f"{function_name}({shown}) = {got.hex()} but the correctly rounded reference is "
        f"{want.hex()}: {summary.worst_ulps:g} ulps apart, bound {tolerance.max_ulps:g} "
        f"({'stored row' if worst < split else 'hypothesis example'})"
    )
    example = {
        "args": _named_hex(function_name, arguments[worst]),
        "expected": want.hex() if math.isfinite(want) else repr(want),
        "got": got.hex() if math.isfinite(got) else repr(got),
        "ulps": summary.worst_ulps,
    }
    reproduction = _reproduction(
        function_name, implementation, arguments[worst], backend, profile, seed
    )
    return CheckResult(
        name, FAIL, message, figures, tolerance_json, Failure(message, seed, reproduction, example)
    )


def _named_hex(function_name: str, arguments: tuple[float, ...]) -> dict[str, str]:
    return {k: v.hex() for k, v in _named(function_name, arguments).items()}
