"""The kernel checks: each judges what a kernel did in its isolated processes (theory.md §1.2).

:func:`quantmm.conformance.campaign.observe` runs every call once; each check below reads the
recorded :class:`~quantmm.conformance.campaign.Observations` and returns a
:class:`~quantmm.conformance.results.CheckResult`. No check calls kernel code.

``protocol``
    The target builds in a fresh process; its declarations are decidable: ``rate`` a finite
    positive real number (NumPy scalars included), ``unbiased`` a value with a truth value,
    ``unsupported`` a mapping from edge families (:data:`~quantmm.conformance.inputs.EDGE_FAMILIES`)
    to reasons. If it fails, the other checks are not run.
``output_contract``
    On every Gaussian and rate-family input: each payload is exactly ``bytes`` (no subclass,
    bytearray, memoryview or array), the input (passed read-only) is left unchanged, and the
    estimate, computed in a fresh process from the two byte strings alone, is a floating array of
    shape exactly (a, b) (a ≠ b), finite. A crash, exit, hang or exception of any call fails it.
``rate_honesty``
    Both payloads' rates, 8·len/entries, on every rate family; a declared ``rate`` must cover the
    worst of them, and every other payload the harness saw (Gaussian trials, edge families), within
    the table's allowance for side information and header.
``determinism``
    Fresh processes with another ``PYTHONHASHSEED`` repeat a subset of the calls (the largest
    inputs included) in the reverse order: the same seed must give the same bytes and the same
    estimates.
``robustness``
    NaN, infinite, empty, integer, complex, 1-D and 3-D inputs raise an exception in both
    encoders; payloads of different n are refused by ``estimate``.
``edge_inputs``
    n ∈ {1, 7, 9}, zero and constant columns, 1e±30 magnitudes, Cauchy and t(3) tails,
    Fortran-ordered and non-contiguous input, float32: a finite estimate of the right shape, or
    an exception for a family the kernel declares in ``unsupported``.
``converse``
    On iid N(0, 1) trials the distortion may not lie below Γ(R) (R: the largest measured rate of
    each payload, averaged over A and B; a valid bound since Γ(R̄) ≤ D(R1, R2)): neither the mean
    (by more than z standard errors), nor the lower median, nor any single trial (by more than the
    table's fractions), so no subset of trials may beat Γ. The gap to Γ in dB is reported.
``accuracy_floor``
    On the same trials the estimate must be significantly better than the zero estimate
    (D + z·s < the zero estimate's D), and no row or column of it significantly worse than zero.
``claimed_guarantees``
    A truthy ``unbiased`` (any truthy value) and a ``guarantee(A, B)`` bound are tested over
    kernel seeds on adversarial pairs; a claim that cannot be tested fails.

The thresholds are in :data:`KERNEL_TOLERANCES` (one table; z is the number of standard errors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .campaign import Observations, estimate_array
from .inputs import BAD_INPUTS, EDGE_FAMILIES, RATE_FAMILIES
from .results import FAIL, PASS, SKIP, CheckResult, Failure
from .sandbox import Outcome

__all__ = ["KERNEL_CHECKS", "KERNEL_TOLERANCES", "CheckContext"]

#: Thresholds of the kernel checks.
KERNEL_TOLERANCES: dict[str, Any] = {
    # a declared rate must cover every payload of an n×c matrix within
    # side/n + header/(n·c) bits per entry: up to four float64 numbers per column and 256 bytes
    # of header (0.075 bit per entry at n ≈ 4100, c ≈ 20; 0.29 at n ≈ 1000, c ≈ 32)
    "rate_side_information_bits_per_column": 256,
    "rate_header_bits": 2048,
    "z": 5.0,  # standard errors a statistical check allows
    "converse_trial_fraction": 0.75,  # every trial: D_t ≥ 0.75·Γ(R)
    "converse_median_fraction": 0.9,  # the lower median of the D_t ≥ 0.9·Γ(R)
    "deterministic_bound_slack": 1e-9,  # relative slack of a bound tested without randomness
    # unbiased "up to rounding": |E Ĉ − AᵀB| may also exceed z standard errors by this much
    # times (|A|ᵀ|B|)_ij, the float32 rounding of the side information a kernel sends (2^-16
    # covers a few float32 roundings of each factor; a 1.05 scale error is 3000 times larger)
    "unbiased_rounding_allowance": 2.0**-16,
}

ISOLATED = (
    "in a fresh process that received only the kernel's specification, its seed and the two "
    "payloads"
)


@dataclass(frozen=True)
class CheckContext:
    """What a check needs besides the observations: how to name and reproduce the target."""

    name: str
    target: str | None  # "module:attribute" or "path.py:attribute" (None: not re-creatable)
    arguments: dict[str, Any]
    profile: str
    run_seed: int
    rerun: str  # the shell command that re-runs this certification
    array: str | None = None  # the library the run asked for, or the kernel's if not NumPy
    python: str | None = None  # the interpreter of the kernel's workers, if not the harness's


def _load_line(context: CheckContext) -> str:
    options = "".join(
        f", {name}={value!r}"
        for name, value in (
            ("arguments", context.arguments),
            ("array", context.array),
            ("python", context.python),
        )
        if value
    )
    return f"TARGET = dict(target={context.target!r}{options})"


def _reproduction(context: CheckContext, body: str) -> str:
    return (
        "import numpy as np\n"
        "from quantmm.conformance import inputs, encode_in_fresh_process, "
        "estimate_in_fresh_process\n"
        f"plan = inputs.plan({context.profile!r}, {context.run_seed})\n"
        f"{_load_line(context)}\n{body}"
    )


def _pair_line(key: tuple) -> str:
    kind = key[0]
    if kind == "rate":
        return f"A, B = plan.rate_pair({key[1]!r})"
    if kind == "converse":
        return f"A, B = plan.converse_pair({key[1]})"
    if kind == "edge":
        return f"A, B = plan.edge_pair({key[1]!r})"
    if kind == "mismatch":
        return "A, B = plan.mismatched_pair()"
    if kind == "guarantee":
        return f"A, B = plan.guarantee_pair_list()[{key[1]}]"
    return f"A = B = plan.bad_input({key[1]!r})"


def _seed_expression(key: tuple) -> str:
    if key[0] == "guarantee":
        return f"plan.guarantee_seed({key[2]})"
    if key[0] == "edge":
        return f"plan.edge_seed({key[1]!r})"
    return "plan.kernel_seed"


def _estimate_body(key: tuple, layout: str = "C") -> str:
    seed = _seed_expression(key)
    layout_option = f", layout={layout!r}" if layout != "C" else ""
    return (
        f"{_pair_line(key)}\n"
        f"pa = encode_in_fresh_process(TARGET, 'a', A, seed={seed}{layout_option})\n"
        f"pb = encode_in_fresh_process(TARGET, 'b', B, seed={seed}{layout_option})\n"
        f"C = estimate_in_fresh_process(TARGET, pa, pb, seed={seed})\n"
        "print(type(C), getattr(C, 'dtype', None), np.shape(C), (A.shape[1], B.shape[1]))"
    )


def _fail(name, summary, figures, tolerance, message, context, body, example=None) -> CheckResult:
    example = {**(example or {}), "rerun": context.rerun}
    failure = Failure(message, context.run_seed, _reproduction(context, body), example)
    return CheckResult(name, FAIL, summary, figures, tolerance, failure)


def _key_text(key: tuple) -> str:
    kind = key[0]
    if kind == "converse":
        return f"Gaussian trial {key[1]}"
    if kind == "rate":
        return f"the {key[1]} rate family"
    if kind == "edge":
        return f"the edge family {key[1]!r}"
    if kind == "guarantee":
        return f"adversarial pair {key[1]} (seed repeat {key[2]})"
    return " ".join(str(part) for part in key)


def _call_problem(stage: str, outcome: Outcome) -> str:
    """Why a call failed, in words that name the defect."""
    text = outcome.describe()
    if outcome.status == "raised" and outcome.header.get("base"):
        return f"{stage} {text}: kernel code may not exit or interrupt the process"
    if stage == "estimate" and outcome.status == "raised":
        return (
            f"estimate {text} {ISOLATED}: a kernel that needs anything else to decode (state kept "
            "by its encoders, globals, files) cannot be certified"
        )
    message = outcome.header.get("message", "")
    if outcome.status == "raised" and ("read-only" in message or "WRITEABLE" in message):
        return (
            f"{stage} {text}: the kernel writes into its input matrix (the harness passes "
            "read-only arrays; a kernel must not modify the caller's data)"
        )
    if outcome.status == "raised" and "Read-only file system" in message:
        return (
            f"{stage} {text}: the kernel writes outside its private temporary directory "
            "(the harness runs kernels on a read-only file system)"
        )
    if outcome.status == "raised":
        return (
            f"{stage} {text} in a fresh process that received only the kernel's specification, "
            "its seed and the matrix"
        )
    return f"{stage} {text}"


def _payload_problem(side: str, outcome: Outcome) -> str | None:
    if not outcome.ok:
        return _call_problem(f"encode_{side}", outcome)
    kind = outcome.header.get("type")
    if kind != "bytes":
        return (
            f"encode_{side} returned {kind}, not exactly bytes (type(payload) is bytes is "
            "required: subclasses, bytearray, memoryview and arrays are refused, since only the "
            "bytes are counted and sent)"
        )
    if outcome.header.get("mutated"):
        return f"encode_{side} modified its input matrix in place (the caller's data)"
    return None


def _estimate_problem(observed: Observations, key: tuple) -> tuple[np.ndarray | None, str | None]:
    """(estimate, None) or (None, what is wrong with the calls behind ``key``)."""
    for side in ("a", "b"):
        problem = _payload_problem(side, observed.encodes[(side, key)])
        if problem:
            return None, problem
    outcome = observed.estimates.get(key)
    if outcome is None:
        return None, "estimate was not run"
    if not outcome.ok:
        return None, _call_problem("estimate", outcome)
    estimate, problem = estimate_array(outcome)
    if problem:
        return None, f"estimate {problem}"
    A, B = observed.matrices[key]
    expected = (A.shape[1], B.shape[1])
    if estimate.shape != expected:
        return None, (
            f"estimate returned shape {estimate.shape}, expected exactly (a, b) = {expected}"
        )
    if estimate.dtype.kind != "f":
        return None, f"estimate returned dtype {estimate.dtype}, not a floating dtype"
    if not np.isfinite(estimate).all():
        bad = int((~np.isfinite(estimate)).sum())
        return None, f"estimate returned {bad} non-finite entries for finite inputs"
    return estimate.astype(np.float64), None


def check_protocol(observed: Observations, context: CheckContext) -> CheckResult:
    """The target builds and declares only decidable things."""
    name = "protocol"
    declarations = observed.declarations
    problems = []
    if declarations.get("status") != "ok":
        problems.append(f"building the kernel {Outcome('raised', declarations).describe()}")
    else:
        if declarations.get("missing"):
            problems.append(f"the kernel lacks {', '.join(declarations['missing'])}")
        rate = declarations.get("rate")
        if rate is not None and not (
            rate["value"] is not None and math.isfinite(rate["value"]) and rate["value"] > 0
        ):
            problems.append(
                f"rate = {rate['repr']} ({rate['type']}) is not a finite positive real number"
            )
        unbiased = declarations.get("unbiased")
        if unbiased is not None and unbiased.get("truth") is None:
            problems.append(
                f"unbiased = {unbiased['repr']} has no truth value ({unbiased.get('error')}): "
                "an undecidable declaration"
            )
        unsupported = declarations.get("unsupported", {})
        unknown = sorted(set(unsupported) - set(EDGE_FAMILIES))
        if unknown:
            problems.append(
                f"unsupported names {unknown}, which are not edge families; choose from "
                f"{list(EDGE_FAMILIES)}"
            )
    figures = {
        key: declarations.get(key)
        for key in (
            "type",
            "rate",
            "unbiased",
            "guarantee",
            "unsupported",
            "is_object",
            "takes_seed",
            "array_library",
        )
    }
    if problems:
        return _fail(
            name,
            "the target does not meet the protocol",
            figures,
            {},
            "; ".join(problems),
            context,
            "print(encode_in_fresh_process(TARGET, 'a', plan.edge_pair('n=7')[0], "
            "seed=plan.kernel_seed))",
        )
    declared = declarations.get("unsupported") or {}
    summary = "builds in a fresh process; declarations are decidable"
    library = declarations.get("array_library") or {}
    if library.get("name", "numpy") != "numpy":
        summary += f"; takes {library['name']} {library.get('version')} arrays"
    if declared:
        summary += f"; declares unsupported: {', '.join(sorted(declared))}"
    return CheckResult(name, PASS, summary, figures, {})


def check_output_contract(observed: Observations, context: CheckContext) -> CheckResult:
    """Payloads exactly bytes, inputs unchanged, estimates finite floating (a, b) arrays."""
    name = "output_contract"
    keys = [("rate", family) for family in RATE_FAMILIES if not _declared(observed, family)]
    keys += [("converse", trial) for trial in range(observed.plan.trials)]
    for key in keys:
        _, problem = _estimate_problem(observed, key)
        if problem:
            return _fail(
                name,
                f"broke the output contract on {_key_text(key)}",
                {},
                {},
                f"on {_key_text(key)}: {problem}",
                context,
                _estimate_body(key),
                {"input": list(key)},
            )
    return CheckResult(
        name,
        PASS,
        f"{len(keys)} estimates from the bytes alone in fresh processes: exactly bytes, inputs "
        "unchanged, finite floating arrays of shape (a, b)",
        {"inputs": len(keys)},
        {},
    )


def _declared(observed: Observations, family: str) -> bool:
    return family in (observed.declarations.get("unsupported") or {})


def rate_allowance(rows: int, columns: int) -> float:
    """Bits per entry a declared rate may be exceeded by on an rows×columns matrix (the table's
    side information per column and header, spread over the entries)."""
    side = KERNEL_TOLERANCES["rate_side_information_bits_per_column"]
    header = KERNEL_TOLERANCES["rate_header_bits"]
    return side / rows + header / (rows * columns)


def check_rate_honesty(observed: Observations, context: CheckContext) -> CheckResult:
    """Both payloads on every rate family (and every other payload), against the declared rate."""
    name = "rate_honesty"
    tolerance = {
        key: KERNEL_TOLERANCES[key]
        for key in ("rate_side_information_bits_per_column", "rate_header_bits")
    }
    worst: dict[str, dict[str, float]] = {}
    for family in RATE_FAMILIES:
        if _declared(observed, family):
            continue
        key = ("rate", family)
        for side in ("a", "b"):
            problem = _payload_problem(side, observed.encodes[(side, key)])
            if problem:
                return _fail(
                    name,
                    f"could not measure the rate on {_key_text(key)}",
                    {},
                    tolerance,
                    f"on {_key_text(key)}: {problem}",
                    context,
                    _estimate_body(key),
                    {"input": list(key)},
                )
    measured = []  # (bits per entry, allowance, key, side) of every payload received
    for (side, key), outcome in observed.encodes.items():
        if key[0] in ("bad", "mismatch") or not outcome.ok or not outcome.blobs:
            continue
        matrix = observed.matrices[key][0 if side == "a" else 1]
        bits = 8 * len(outcome.blobs[0]) / matrix.size
        measured.append((bits, rate_allowance(*matrix.shape), key, side))
        if key[0] == "rate":
            worst.setdefault(key[1], {})[side] = bits
    figures: dict[str, Any] = {"bits_per_entry": worst, "shape": list(observed.plan.rate_shape)}
    top = max((max(rates.values()), family) for family, rates in worst.items())
    figures["worst_bits_per_entry"] = top[0]
    figures["payloads_measured"] = len(measured)
    rate = observed.declarations.get("rate")
    if rate is not None:
        claimed = rate["value"]
        figures["claimed_bits_per_entry"] = claimed
        over = [item for item in measured if item[0] > claimed + item[1]]
        figures["worst_excess_over_claim_and_allowance"] = max(
            bits - claimed - allowance for bits, allowance, _, _ in measured
        )
        if over:
            value, allowance, key, side = max(over, key=lambda item: item[0] - item[1])
            matrix = side.upper()
            layout = observed.plan.layout(key[1]) if key[0] == "edge" else "C"
            return _fail(
                name,
                f"uses {value:.4f} bits per entry on {_key_text(key)} but claims {claimed:g}",
                figures,
                tolerance,
                f"payload {matrix} of {_key_text(key)} holds {value:.4f} bits per entry, "
                f"more than the claimed rate {claimed:g} plus {allowance:.4f} for side "
                f"information and header ({len(over)} payload(s) over the claim)",
                context,
                f"{_pair_line(key)}\n"
                f"p = encode_in_fresh_process(TARGET, {side!r}, {matrix}, "
                f"seed={_seed_expression(key)}, layout={layout!r})\n"
                f"print(8 * len(p) / {matrix}.size)",
                {"input": list(key), "payload": side},
            )
    return CheckResult(
        name,
        PASS,
        f"worst {top[0]:.4f} bits per entry ({top[1]}) over {len(worst)} families, both "
        f"payloads"
        + (
            f"; every one of {len(measured)} payloads within the claim {rate['value']:g}"
            if rate is not None
            else "; claims no rate"
        ),
        figures,
        tolerance,
    )


def check_determinism(observed: Observations, context: CheckContext) -> CheckResult:
    """Same seed, same bytes and estimates, in fresh processes, in another order."""
    name = "determinism"
    compared = 0
    for (side, key), again in observed.replica_encodes.items():
        first = observed.encodes[(side, key)]
        if not (first.ok and again.ok and first.blobs and again.blobs):
            if first.ok != again.ok:
                problem = _call_problem(f"encode_{side}", again if first.ok else first)
                return _fail(
                    name,
                    "a repeated call behaved differently",
                    {},
                    {},
                    f"on {_key_text(key)} one of two fresh processes failed: {problem}",
                    context,
                    _determinism_body(key, side),
                    {"input": list(key)},
                )
            continue
        compared += 1
        if first.blobs[0] != again.blobs[0]:
            return _fail(
                name,
                "the same seed gave different bytes",
                {"compared": compared},
                {},
                f"encode_{side} of {_key_text(key)} gave different payload bytes in two fresh "
                "processes with the same seed (another PYTHONHASHSEED, calls in another order): "
                "the payload must depend on the matrix and the seed alone",
                context,
                _determinism_body(key, side),
                {"input": list(key), "payload": side},
            )
    for key, again in observed.replica_estimates.items():
        first_array, _ = estimate_array(observed.estimates[key])
        second_array, _ = estimate_array(again)
        if first_array is None or second_array is None:
            continue
        compared += 1
        same = first_array.shape == second_array.shape and first_array.tobytes() == (
            second_array.tobytes()
        )
        if not same:
            return _fail(
                name,
                "decoding twice gave different estimates",
                {"compared": compared},
                {},
                f"estimate of {_key_text(key)} differed between two fresh processes "
                "given the same payloads and seed",
                context,
                _estimate_body(key),
                {"input": list(key)},
            )
    if compared == 0:
        return _fail(
            name,
            "nothing could be compared",
            {},
            {},
            "no repeated call succeeded",
            context,
            _determinism_body(("converse", 0), "a"),
        )
    return CheckResult(
        name,
        PASS,
        f"{compared} repeated calls gave identical bytes and estimates",
        {"compared": compared},
        {},
    )


def _determinism_body(key: tuple, side: str) -> str:
    matrix = side.upper()
    seed = _seed_expression(key)
    return (
        f"{_pair_line(key)}\n"
        f"first = encode_in_fresh_process(TARGET, {side!r}, {matrix}, seed={seed}, hash_seed=1)\n"
        "# the same call in another process, with another hash seed, after another call\n"
        f"second = encode_in_fresh_process(TARGET, {side!r}, {matrix}, seed={seed}, hash_seed=2,\n"
        "                                  after=[plan.edge_pair('n=7')[0]])\n"
        "print(first == second)"
    )


def check_robustness(observed: Observations, context: CheckContext) -> CheckResult:
    """Bad input raises an exception; payloads of different n are refused."""
    name = "robustness"
    accepted, crashed = [], []
    for label in BAD_INPUTS:
        for side in ("a", "b"):
            outcome = observed.encodes[(side, ("bad", label))]
            if outcome.ok:
                accepted.append(f"encode_{side}({label})")
            elif outcome.status != "raised" or outcome.header.get("base"):
                crashed.append(f"encode_{side}({label}): {outcome.describe()}")
    figures: dict[str, Any] = {"bad_inputs_tried": 2 * len(BAD_INPUTS)}
    body = (
        "for label in inputs.BAD_INPUTS:\n"
        "    try:\n"
        "        encode_in_fresh_process(TARGET, 'a', plan.bad_input(label), "
        "seed=plan.kernel_seed)\n"
        "        print('accepted', label)\n"
        "    except Exception as error:\n"
        "        print('refused', label, error)"
    )
    if accepted or crashed:
        parts = []
        if accepted:
            parts.append(f"these calls returned instead of raising: {', '.join(accepted)}")
        if crashed:
            parts.append(f"these crashed instead of raising an exception: {'; '.join(crashed)}")
        return _fail(
            name,
            "bad input was accepted",
            {**figures, "accepted": accepted},
            {},
            "; ".join(parts),
            context,
            body,
        )
    mismatch = observed.estimates.get(("mismatch",))
    if mismatch is not None and mismatch.ok:
        return _fail(
            name,
            "payloads for different n were combined",
            figures,
            {},
            "estimate() accepted payloads of a 40-row A and a 39-row B",
            context,
            _estimate_body(("mismatch",)),
        )
    return CheckResult(
        name, PASS, "bad input raises; payloads of different n are refused", figures, {}
    )


def check_edge_inputs(observed: Observations, context: CheckContext) -> CheckResult:
    """Every edge family gives a finite estimate of the right shape, or a declared refusal."""
    name = "edge_inputs"
    declared = observed.declarations.get("unsupported") or {}
    met, refused = [], {}
    for family in EDGE_FAMILIES:
        key = ("edge", family)
        _, problem = _estimate_problem(observed, key)
        if problem is None:
            met.append(family)
            continue
        clear = _refused_clearly(observed, key)
        if family in declared and clear:
            refused[family] = f"{problem} (declared: {declared[family]})"
            continue
        hint = (
            ""
            if family in declared or not clear
            else (
                f"; if the kernel does not support this input, declare it: unsupported = "
                f"{{{family!r}: 'reason'}}"
            )
        )
        A, _B = observed.matrices[key]
        return _fail(
            name,
            f"failed on the edge family {family!r}",
            {"met": met},
            {},
            f"on {_key_text(key)} (A {A.shape[0]}×{A.shape[1]} {A.dtype}, layout "
            f"{observed.plan.layout(family)}): {problem}{hint}",
            context,
            _estimate_body(key, observed.plan.layout(family)),
            {"input": list(key)},
        )
    summary = f"{len(met)} edge families met with finite estimates of the right shape"
    if refused:
        summary += f"; refused as declared: {', '.join(refused)}"
    return CheckResult(name, PASS, summary, {"met": met, "refused_as_declared": refused}, {})


def _trials_failed(name: str, problem, tolerance, context: CheckContext) -> CheckResult:
    key, text = problem
    return _fail(
        name,
        f"could not run the Gaussian trials ({_key_text(key)})",
        {},
        tolerance,
        f"on {_key_text(key)}: {text}",
        context,
        _estimate_body(key),
    )


def _converse_data(observed: Observations):
    """Per trial: D_t, the zero estimate's D, rates, and the per-row/column error sums (computed
    once per kernel: the converse and the accuracy floor both read them)."""
    if "converse" not in observed.derived:
        observed.derived["converse"] = _trial_rows(observed)
    return observed.derived["converse"]


def _trial_rows(observed: Observations):
    rows = []
    for trial in range(observed.plan.trials):
        key = ("converse", trial)
        estimate, problem = _estimate_problem(observed, key)
        if problem:
            return None, (key, problem)
        A, B = observed.matrices[key]
        exact = A.T @ B
        error = (exact - estimate) ** 2
        scale = A.shape[0] * A.shape[1] * B.shape[1]
        rows.append(
            {
                "D": float(error.sum()) / scale,
                "zero": float((exact**2).sum()) / scale,
                "rate_a": 8 * len(observed.encodes[("a", key)].blobs[0]) / A.size,
                "rate_b": 8 * len(observed.encodes[("b", key)].blobs[0]) / B.size,
                "columns": (error.sum(axis=0) - (exact**2).sum(axis=0)),
                "rows": (error.sum(axis=1) - (exact**2).sum(axis=1)),
            }
        )
    return rows, None


def _mean_and_error(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    spread = float(values.std(ddof=1)) if len(values) > 1 else math.inf
    return float(values.mean()), spread / math.sqrt(len(values))


def _trials_body() -> str:
    return (
        "for trial in range(plan.trials):\n"
        "    A, B = plan.converse_pair(trial)\n"
        "    pa = encode_in_fresh_process(TARGET, 'a', A, seed=plan.kernel_seed)\n"
        "    pb = encode_in_fresh_process(TARGET, 'b', B, seed=plan.kernel_seed)\n"
        "    C = estimate_in_fresh_process(TARGET, pa, pb, seed=plan.kernel_seed)\n"
        "    D = ((A.T @ B - C) ** 2).sum() / (A.size * B.shape[1])\n"
        "    print(trial, D, 8 * len(pa) / A.size, 8 * len(pb) / B.size)"
    )


def check_converse(observed: Observations, context: CheckContext) -> CheckResult:
    """Mean, lower median and every trial against Γ at the measured rate (theory.md §1.2)."""
    from quantmm.reference import gamma

    name = "converse"
    table = KERNEL_TOLERANCES
    z = table["z"]
    tolerance = {
        "z": z,
        "trial_fraction": table["converse_trial_fraction"],
        "median_fraction": table["converse_median_fraction"],
        "shape": list(observed.plan.converse_shape),
        "trials": observed.plan.trials,
    }
    data, problem = _converse_data(observed)
    if problem:
        return _trials_failed(name, problem, tolerance, context)
    distortions = [row["D"] for row in data]
    rate = (max(row["rate_a"] for row in data) + max(row["rate_b"] for row in data)) / 2
    bound = float(gamma(rate, digits=15))
    mean, standard_error = _mean_and_error(distortions)
    lower_median = sorted(distortions)[(len(distortions) - 1) // 2]
    low = mean - 1.96 * standard_error
    figures = {
        "distortion": mean,
        "standard_error": standard_error,
        "per_trial": distortions,
        "lower_median": lower_median,
        "bits_per_entry": rate,
        "gamma": bound,
        "gap_db": 10 * math.log10(mean / bound) if mean > 0 else None,
        "gap_db_95": [
            10 * math.log10(low / bound) if low > 0 else None,
            10 * math.log10((mean + 1.96 * standard_error) / bound) if mean > 0 else None,
        ],
    }
    failures = []
    if mean < bound - z * standard_error:
        failures.append(
            f"the mean D = {mean:.6g} lies below Γ = {bound:.6g} by more than {z} "
            f"standard errors ({standard_error:.2g})"
        )
    if lower_median < table["converse_median_fraction"] * bound:
        failures.append(
            f"the lower median D = {lower_median:.6g} lies below "
            f"{table['converse_median_fraction']}·Γ"
        )
    below = [t for t, d in enumerate(distortions) if d < table["converse_trial_fraction"] * bound]
    if below:
        failures.append(
            f"trial(s) {below} have D below {table['converse_trial_fraction']}·Γ "
            f"(lowest {min(distortions):.6g})"
        )
    if failures:
        return _fail(
            name,
            f"D beats Γ = {bound:.6g} at {rate:.4f} bits",
            figures,
            tolerance,
            "the measured distortion beats the converse: "
            + "; ".join(failures)
            + ". The kernel uses information outside its payload or more bits than its "
            "bytes show",
            context,
            _trials_body(),
        )
    return CheckResult(
        name,
        PASS,
        f"D = {mean:.5g} ± {standard_error:.2g}, {figures['gap_db']:.2f} dB above Γ at "
        f"{rate:.3f} bits; every trial and the median too",
        figures,
        tolerance,
    )


def check_accuracy_floor(observed: Observations, context: CheckContext) -> CheckResult:
    """Better than the zero estimate overall, and no row or column worse than zero."""
    name = "accuracy_floor"
    z = KERNEL_TOLERANCES["z"]
    tolerance = {"z": z}
    data, problem = _converse_data(observed)
    if problem:
        return _trials_failed(name, problem, tolerance, context)
    excess, excess_error = _mean_and_error([row["D"] - row["zero"] for row in data])
    zero = float(np.mean([row["zero"] for row in data]))
    figures = {
        "distortion": float(np.mean([row["D"] for row in data])),
        "zero_estimate": zero,
        "excess_over_zero": excess,
        "standard_error": excess_error,
    }
    if not excess + z * excess_error < 0:
        return _fail(
            name,
            "no better than the zero estimate",
            figures,
            tolerance,
            f"the distortion {figures['distortion']:.4g} is not significantly below the "
            f"zero estimate's {zero:.4g} (difference {excess:.3g} ± {excess_error:.2g}, "
            f"{z} standard errors required): the estimate carries no information about "
            "AᵀB",
            context,
            _trials_body(),
        )
    for axis in ("columns", "rows"):
        values = np.array([row[axis] for row in data])
        mean = values.mean(axis=0)
        spread = (
            values.std(axis=0, ddof=1) / math.sqrt(len(values))
            if len(values) > 1
            else (np.full(mean.shape, math.inf))
        )
        worse = np.flatnonzero(mean > z * spread)
        if worse.size:
            index = int(worse[np.argmax(mean[worse])])
            return _fail(
                name,
                f"{axis[:-1]} {index} of the estimate is worse than zero",
                figures,
                tolerance,
                f"{axis[:-1]} {index} of the estimate has a larger squared error than "
                f"the zero estimate for that {axis[:-1]} (by {mean[index]:.4g} per trial, "
                f"{z} standard errors allowed): {worse.size} {axis} are worse than "
                "estimating nothing",
                context,
                _trials_body(),
            )
    return CheckResult(
        name,
        PASS,
        f"D = {figures['distortion']:.4g} against the zero estimate's {zero:.4g}; no row or "
        "column worse than zero",
        figures,
        tolerance,
    )


def edge_families_of(matrix: np.ndarray) -> list[str]:
    """The edge families (:data:`EDGE_FAMILIES`) an adversarial matrix belongs to, so that a
    kernel may refuse it when it declares one of them unsupported."""
    families = []
    if matrix.shape[0] in (1, 7, 9):
        families.append(f"n={matrix.shape[0]}")
    if matrix.dtype == np.float32:
        families.append("float32")
    magnitude = float(np.abs(matrix).max()) if matrix.size else 0.0
    if magnitude > 1e20:
        families.append("huge")
    if 0 < magnitude < 1e-20:
        families.append("tiny")
    return families


def _refused_clearly(observed: Observations, key: tuple) -> bool:
    outcomes = [observed.encodes[("a", key)], observed.encodes[("b", key)]]
    outcomes.append(observed.estimates.get(key, Outcome("not_run")))
    first_bad = next((outcome for outcome in outcomes if not outcome.ok), None)
    return (
        first_bad is not None and first_bad.status == "raised" and not first_bad.header.get("base")
    )


def check_claimed_guarantees(observed: Observations, context: CheckContext) -> CheckResult:
    """Declared unbiasedness and error bounds hold on adversarial pairs over kernel seeds."""
    name = "claimed_guarantees"
    z = KERNEL_TOLERANCES["z"]
    declarations = observed.declarations
    unbiased = bool((declarations.get("unbiased") or {}).get("truth"))
    bounded = bool(declarations.get("guarantee"))
    seeded = declarations.get("takes_seed") and not declarations.get("is_object")
    plan = observed.plan
    tolerance = {
        "z": z,
        "seeds_per_pair": plan.guarantee_seeds if seeded else 1,
        "unbiased_rounding_allowance": KERNEL_TOLERANCES["unbiased_rounding_allowance"],
    }
    if not unbiased and not bounded:
        return CheckResult(
            name,
            SKIP,
            "not applicable: declares no guarantee (no truthy unbiased, no guarantee(A, B))",
            {},
            tolerance,
        )
    body = (
        "A, B = plan.guarantee_pair_list()[0]\n"
        "estimates = [estimate_in_fresh_process(TARGET, encode_in_fresh_process(TARGET, 'a', "
        "A, seed=s), encode_in_fresh_process(TARGET, 'b', B, seed=s), seed=s)\n"
        "             for s in map(plan.guarantee_seed, range(5))]\n"
        "print(np.mean(estimates, axis=0) - A.astype(float).T @ B.astype(float))"
    )
    if unbiased and not seeded:
        return _fail(
            name,
            "an unbiased claim that cannot be tested",
            {},
            tolerance,
            f"declares unbiased = {declarations['unbiased']['repr']} (over its shared "
            "randomness), but its seed cannot be varied (a kernel object, or a factory "
            "without a seed parameter), so the claim is undecidable: certify a factory "
            "that takes seed",
            context,
            body,
        )
    repeats = plan.guarantee_seeds if seeded else 1
    pairs = len({key[1] for key in observed.matrices if key[0] == "guarantee"})
    worst_unbiased, worst_bound = 0.0, -math.inf
    unsupported = observed.declarations.get("unsupported") or {}
    excused = {}
    for index in range(pairs):
        A, B = observed.matrices[("guarantee", index, 0)]
        exact = A.astype(np.float64).T @ B.astype(np.float64)
        estimates = []
        families = sorted(set(edge_families_of(A)) & set(unsupported))
        for repeat in range(repeats):
            key = ("guarantee", index, repeat)
            estimate, problem = _estimate_problem(observed, key)
            if problem and families and _refused_clearly(observed, key):
                excused[index] = f"refused as declared unsupported ({', '.join(families)})"
                break
            if problem:
                return _fail(
                    name,
                    f"could not test the claim on {_key_text(key)}",
                    {},
                    tolerance,
                    f"on {_key_text(key)}: {problem}",
                    context,
                    _estimate_body(key),
                )
            estimates.append(estimate)
        if index in excused:
            continue
        estimates = np.array(estimates)
        example = {"pair": index, "A_shape": list(A.shape), "B_shape": list(B.shape)}
        if unbiased:
            # In units of a power of two near the largest |A|ᵀ|B| (exact scaling): on matrices
            # of entries near 1e-100 the squares inside a standard deviation would underflow to
            # 0 and make a varying estimate look constant.
            magnitudes = np.abs(A.astype(np.float64)).T @ np.abs(B.astype(np.float64))
            largest = float(magnitudes.max())
            unit = math.ldexp(1.0, math.frexp(largest)[1]) if 0 < largest < math.inf else 1.0
            scaled, scaled_exact = estimates / unit, exact / unit  # the bound check keeps units
            error_of_mean = scaled.mean(axis=0) - scaled_exact
            spread = scaled.std(axis=0, ddof=1) / math.sqrt(repeats)
            rounding = KERNEL_TOLERANCES["unbiased_rounding_allowance"] * (magnitudes / unit)
            error_of_mean = np.maximum(np.abs(error_of_mean) - rounding, 0.0)
            size = float(np.abs(scaled_exact).max()) * 1e-12 + 1e-300
            if float(spread.max()) == 0.0 and float(error_of_mean.max()) > size:
                relative = float(
                    np.linalg.norm(error_of_mean) / max(np.linalg.norm(scaled_exact), 1e-300)
                )
                return _fail(
                    name,
                    "declared unbiased, but the estimate ignores the seed",
                    {},
                    tolerance,
                    f"on pair {index} the estimate does not change with the seed (zero "
                    f"variance over {repeats} seeds) and differs from AᵀB by {relative:.3g} "
                    "(relative Frobenius): an estimate that does not vary cannot be "
                    "unbiased over the shared randomness",
                    context,
                    body,
                    example,
                )
            with np.errstate(invalid="ignore"):  # an estimate beyond float64 once scaled: NaN
                ratio = float((error_of_mean / np.maximum(spread, size)).max())
            worst_unbiased = max(worst_unbiased, ratio)
            if not ratio <= z:  # NaN fails too
                return _fail(
                    name,
                    "declared unbiased, but the mean estimate is off",
                    {"worst_z": ratio},
                    tolerance,
                    f"on pair {index} the mean over {repeats} seeds differs from AᵀB by "
                    f"{ratio:.1f} standard errors (allowed {z})",
                    context,
                    body,
                    example,
                )
        if bounded:
            outcome = observed.bounds.get(index, Outcome("not_run", detail="not run"))
            try:
                declared = float(outcome.header["bound"]) if outcome.ok else math.nan
            except (KeyError, TypeError, ValueError):
                declared = math.nan
            if not math.isfinite(declared) or declared < 0:
                why = outcome.describe() if not outcome.ok else f"returned {declared!r}"
                return _fail(
                    name,
                    "the declared bound could not be evaluated",
                    {},
                    tolerance,
                    f"guarantee(A, B) on pair {index} {why}: an undecidable claim",
                    context,
                    "A, B = plan.guarantee_pair_list()[0]",
                    example,
                )
            squared = ((estimates - exact) ** 2).sum(axis=(1, 2))
            mean = float(squared.mean())
            if repeats > 1:
                spread = float(squared.std(ddof=1) / math.sqrt(repeats))
            else:
                spread = KERNEL_TOLERANCES["deterministic_bound_slack"] * declared
            excess = (
                (mean - declared) / spread if spread > 0 else (math.inf if mean > declared else 0.0)
            )
            worst_bound = max(worst_bound, excess)
            if mean > declared + z * spread:
                return _fail(
                    name,
                    "the declared error bound is exceeded",
                    {"mean_squared_error": mean, "declared_bound": declared},
                    tolerance,
                    f"on pair {index} the mean squared error {mean:.6g} exceeds the "
                    f"declared bound {declared:.6g} by {excess:.1f} standard errors",
                    context,
                    body,
                    example,
                )
    figures = {
        "pairs": pairs,
        "unbiased_declared": unbiased,
        "bound_declared": bounded,
        "pairs_refused_as_declared": excused,
    }
    if unbiased:
        figures["worst_mean_error_in_standard_errors"] = worst_unbiased
    if bounded:
        figures["worst_excess_over_bound_in_standard_errors"] = worst_bound
    return CheckResult(
        name, PASS, f"declared guarantees hold on {pairs} adversarial pairs", figures, tolerance
    )


#: The kernel checks, in the order the harness runs them.
KERNEL_CHECKS: dict[str, Callable[[Observations, CheckContext], CheckResult]] = {
    "protocol": check_protocol,
    "output_contract": check_output_contract,
    "rate_honesty": check_rate_honesty,
    "determinism": check_determinism,
    "robustness": check_robustness,
    "edge_inputs": check_edge_inputs,
    "converse": check_converse,
    "accuracy_floor": check_accuracy_floor,
    "claimed_guarantees": check_claimed_guarantees,
}
