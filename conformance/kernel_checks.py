"""Checks on matrix-multiplication kernels (issue #5; THEORY.md §1.2–§1.3).

Each check takes a :class:`~quantmm.conformance.targets.KernelTarget` and returns a
:class:`~quantmm.conformance.results.CheckResult`:

``rate_honesty``
    The payloads are bytes; the estimate is computed by a *fresh* kernel from the factory, from the
    bytes alone, before and after the original matrices are overwritten in place and another pair
    is encoded: all estimates must be identical and finite. The rate is measured from the bytes
    (8·len/entries); if the kernel states a ``rate`` attribute (its claimed bits per entry), the
    measured rate on an n×a Gaussian matrix must not exceed it by more than the table's allowance
    for side information and headers.
``converse``
    On iid N(0, 1) matrices the measured normalized distortion D (seeded Monte Carlo, standard error
    s) must not lie below Γ(measured rate) (THEORY.md §1.2, certified mpmath) by more than z·s.
    A kernel that "beats" Γ leaks information or miscounts bits. The gap to Γ in dB is reported with
    a 95% confidence interval.
``claimed_guarantees``
    If the kernel declares ``unbiased = True``, the mean of Ĉ over seeds must equal AᵀB within z
    standard errors on every entry; if it defines ``guarantee(A, B)`` (a bound on
    E‖AᵀB − Ĉ‖_F² over the shared randomness), the mean squared error over seeds must not exceed it
    by more than z standard errors. Both are tested on adversarial pairs from
    :func:`quantmm.conformance.strategies.matrix_pairs`. Neither declared: skipped.
``determinism``
    Two fresh kernels with one seed give the same bytes for the same matrices, and decoding twice
    gives the same estimate.
``robustness``
    NaN, infinity, empty, wrong-dtype and wrongly shaped inputs must raise an exception instead of
    returning bytes; payloads for different n must be refused; zero and constant columns must give
    finite estimates.

The tolerances are in :data:`KERNEL_TOLERANCES` (one table; z is the number of standard errors).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from quantmm.fast.backend import to_numpy
from quantmm.fast.monte_carlo import gaussian_pair

from .results import FAIL, PASS, SKIP, CheckResult, Failure
from .targets import KernelTarget

__all__ = [
    "KERNEL_CHECKS",
    "KERNEL_TOLERANCES",
    "check_claimed_guarantees",
    "check_converse",
    "check_determinism",
    "check_rate_honesty",
    "check_robustness",
]

#: Thresholds of the kernel checks, and the sizes each profile uses.
KERNEL_TOLERANCES: dict[str, Any] = {
    "rate_claim_allowance_bits": 0.1,  # side information and header at n = 4096, a = 64
    "z": 5.0,  # standard errors a statistical check allows
    "sizes": {
        "quick": {"rate_shape": (4096, 64), "converse": (1024, 32, 32, 6), "guarantee": (6, 40)},
        "full": {
            "rate_shape": (4096, 64),
            "converse": (4096, 128, 128, 20),
            "guarantee": (30, 200),
        },
    },
}


def _sizes(profile: str) -> dict[str, Any]:
    if profile not in KERNEL_TOLERANCES["sizes"]:
        raise ValueError(f"profile must be 'quick' or 'full', got {profile!r}")
    return KERNEL_TOLERANCES["sizes"][profile]


def _reproduction(target: KernelTarget, seed: int, body: str) -> str:
    return (
        "import numpy as np\nfrom quantmm.fast import gaussian_pair\n"
        f"{target.construction}\nkernel = factory(seed={seed}, device=DEVICE)\n{body}"
    ).replace("DEVICE", "'cpu'")


def _failed(name: str, summary: str, figures, tolerance, message, seed, reproduction, example=None):
    failure = Failure(message, seed, reproduction, example or {})
    return CheckResult(name, FAIL, summary, figures, tolerance, failure)


def _crash(name: str, target: KernelTarget, seed: int, stage: str, error: BaseException):
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return _failed(
        name,
        f"the kernel raised while {stage}",
        {},
        {},
        f"{stage}: {text}",
        seed,
        _reproduction(target, seed, f"# {stage}"),
    )


def check_rate_honesty(
    target: KernelTarget, *, profile: str = "quick", seed: int = 0, device: str = "cpu"
) -> CheckResult:
    """Decoding from the bytes alone, and the measured rate against the kernel's claim."""
    name = "rate_honesty"
    n, columns = _sizes(profile)["rate_shape"]
    tolerance = {"rate_claim_allowance_bits": KERNEL_TOLERANCES["rate_claim_allowance_bits"]}
    try:
        A1, B1 = gaussian_pair(n, columns, columns // 2, seed, 0)
        A2, B2 = gaussian_pair(n, columns, columns // 2, seed, 1)
        encoder = target.factory(seed=seed, device=device)
        payload_a, payload_b = encoder.encode_a(A1), encoder.encode_b(B1)
        if not isinstance(payload_a, bytes) or not isinstance(payload_b, bytes):
            kinds = f"{type(payload_a).__name__}, {type(payload_b).__name__}"
            return _failed(
                name,
                "payloads are not bytes",
                {},
                tolerance,
                f"encode_a/encode_b returned {kinds}; the protocol requires bytes",
                seed,
                _reproduction(target, seed, "print(type(kernel.encode_a(np.ones((8, 2)))))"),
            )
        first = to_numpy(target.factory(seed=seed, device=device).estimate(payload_a, payload_b))
        A1[...] = A2[:, ::-1]  # overwrite the originals in place, then encode another pair
        B1[...] = 0.0
        encoder.encode_a(A2)
        encoder.encode_b(B2)
        second = to_numpy(target.factory(seed=seed, device=device).estimate(payload_a, payload_b))
        third = to_numpy(encoder.estimate(payload_a, payload_b))
    except Exception as error:  # the target misbehaved: a failure, not a harness crash
        return _crash(name, target, seed, "encoding and decoding Gaussian matrices", error)
    measured = 8 * len(payload_a) / (n * columns)
    figures = {"shape": [n, columns], "measured_bits_per_entry": measured}
    same = (
        first.shape == second.shape == third.shape
        and np.array_equal(first, second)
        and np.array_equal(first, third)
        and bool(np.isfinite(first).all())
    )
    if not same:
        return _failed(
            name,
            "the estimate changed when only the original matrices changed",
            figures,
            tolerance,
            "estimate(payload_a, payload_b) differed between a fresh decoder before and after the "
            "original matrices were overwritten and another pair encoded (or was not finite): the "
            "decoder does not use the bytes and the seed alone",
            seed,
            _reproduction(
                target,
                seed,
                f"A, B = gaussian_pair({n}, {columns}, {columns // 2}, seed={seed}, trial=0)\n"
                "pa, pb = kernel.encode_a(A), kernel.encode_b(B)\n"
                "before = factory(seed=kernel_seed).estimate(pa, pb)\n"
                "A[...] = 0; B[...] = 0\n"
                "after = factory(seed=kernel_seed).estimate(pa, pb)\n"
                "print(np.array_equal(before, after))".replace("kernel_seed", str(seed)),
            ),
        )
    claimed = getattr(encoder, "rate", None)
    if isinstance(claimed, (int, float)) and not isinstance(claimed, bool):
        figures["claimed_bits_per_entry"] = float(claimed)
        allowance = KERNEL_TOLERANCES["rate_claim_allowance_bits"]
        if measured > claimed + allowance:
            return _failed(
                name,
                f"uses {measured:.4f} bits per entry but claims {claimed}",
                figures,
                tolerance,
                f"the payload of a {n}x{columns} Gaussian matrix holds {measured:.4f} bits per "
                f"entry, more than the claimed rate {claimed} plus {allowance} for side "
                "information",
                seed,
                _reproduction(
                    target,
                    seed,
                    f"A, _ = gaussian_pair({n}, {columns}, 1, seed={seed}, trial=0)\n"
                    f"print(8 * len(kernel.encode_a(A)) / A.size, kernel.rate)",
                ),
            )
    return CheckResult(
        name,
        PASS,
        f"decodes from the bytes alone; {measured:.4f} bits per entry measured",
        figures,
        tolerance,
    )


def check_converse(
    target: KernelTarget, *, profile: str = "quick", seed: int = 0, device: str = "cpu"
) -> CheckResult:
    """Measured distortion on iid Gaussians is not below Γ at the measured rate (THEORY.md §1.2)."""
    from quantmm.fast.monte_carlo import distortion
    from quantmm.reference import gamma

    name = "converse"
    n, a, b, trials = _sizes(profile)["converse"]
    z = KERNEL_TOLERANCES["z"]
    tolerance = {"z": z, "shape": [n, a, b], "trials": trials}
    try:
        kernel = target.factory(seed=seed, device=device)
        result = distortion(kernel, n=n, a=a, b=b, trials=trials, seed=seed)
    except Exception as error:
        return _crash(name, target, seed, "running the Gaussian Monte Carlo", error)
    bound = float(gamma(result.rate, digits=15))
    low, high = (
        result.mean - 1.96 * result.standard_error,
        result.mean + 1.96 * result.standard_error,
    )
    figures = {
        "distortion": result.mean,
        "standard_error": result.standard_error,
        "bits_per_entry": result.rate,
        "gamma": bound,
        "gap_db": 10 * math.log10(result.mean / bound) if result.mean > 0 else None,
        "gap_db_95": [
            10 * math.log10(low / bound) if low > 0 else None,
            10 * math.log10(high / bound) if high > 0 else None,
        ],
    }
    if not math.isfinite(result.mean) or result.mean < bound - z * result.standard_error:
        return _failed(
            name,
            f"D = {result.mean:.6g} lies below Γ = {bound:.6g} at {result.rate:.4f} bits",
            figures,
            tolerance,
            "the measured distortion beats the converse: the kernel leaks information outside "
            "its payload or uses more bits than the bytes show",
            seed,
            _reproduction(
                target,
                seed,
                "from quantmm.fast import distortion\n"
                f"print(distortion(kernel, n={n}, a={a}, b={b}, trials={trials}, seed={seed}))",
            ),
        )
    return CheckResult(
        name,
        PASS,
        f"D = {result.mean:.5g} ± {result.standard_error:.2g}, {figures['gap_db']:.2f} dB above Γ "
        f"at {result.rate:.3f} bits",
        figures,
        tolerance,
    )


def _pairs(profile: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Adversarial pairs drawn with the public strategies, reproducibly for ``seed``."""
    from .strategies import draw_examples, matrix_pairs

    count = _sizes(profile)["guarantee"][0]
    return [(np.array(A), np.array(B)) for A, B in draw_examples(matrix_pairs(), count, seed)]


def check_claimed_guarantees(
    target: KernelTarget, *, profile: str = "quick", seed: int = 0, device: str = "cpu"
) -> CheckResult:
    """Declared unbiasedness and declared error bounds hold on adversarial matrices."""
    name = "claimed_guarantees"
    z = KERNEL_TOLERANCES["z"]
    repeats = _sizes(profile)["guarantee"][1]
    tolerance = {"z": z, "seeds_per_pair": repeats}
    try:
        probe = target.factory(seed=seed, device=device)
    except Exception as error:
        return _crash(name, target, seed, "building the kernel", error)
    unbiased = getattr(probe, "unbiased", False) is True
    bound: Callable[..., float] | None = getattr(probe, "guarantee", None)
    if not unbiased and not callable(bound):
        return CheckResult(
            name,
            SKIP,
            "declares no guarantee (no unbiased = True, no guarantee(A, B))",
            {},
            tolerance,
        )
    if not getattr(target.factory, "seeded", True):
        return CheckResult(
            name,
            SKIP,
            "declares guarantees over its shared randomness, but the target is a fixed object "
            "whose seed cannot be varied: certify a factory instead",
            {},
            tolerance,
        )
    pairs = _pairs(profile, seed)
    worst_unbiased, worst_bound = 0.0, -math.inf
    for index, (A, B) in enumerate(pairs):
        exact = A.astype(np.float64).T @ B.astype(np.float64)
        estimates = []
        try:
            for repeat in range(repeats):
                kernel = target.factory(seed=seed * 1_000_003 + repeat, device=device)
                estimates.append(to_numpy(kernel.estimate(kernel.encode_a(A), kernel.encode_b(B))))
            declared = float(bound(A, B)) if callable(bound) else None
        except Exception as error:
            return _crash(name, target, seed, f"estimating adversarial pair {index}", error)
        estimates = np.array(estimates, dtype=np.float64)
        example = {"pair": index, "A_shape": list(A.shape), "B_shape": list(B.shape)}
        reproduction = _reproduction(
            target,
            seed,
            "from quantmm.conformance.kernel_checks import _pairs\n"
            f"A, B = _pairs({profile!r}, {seed})[{index}]\n"
            f"estimates = [(k := factory(seed={seed} * 1_000_003 + r)).estimate("
            f"k.encode_a(A), k.encode_b(B)) for r in range({repeats})]",
        )
        if unbiased:
            error_of_mean = estimates.mean(axis=0) - exact
            spread = estimates.std(axis=0, ddof=1) / math.sqrt(repeats)
            scale = np.abs(exact).max() * 1e-12 + 1e-300
            ratio = float((np.abs(error_of_mean) / np.maximum(spread, scale)).max())
            worst_unbiased = max(worst_unbiased, ratio)
            if ratio > z:
                return _failed(
                    name,
                    "declared unbiased, but the mean estimate is off",
                    {"worst_z": ratio},
                    tolerance,
                    f"on pair {index} the mean over {repeats} seeds differs from AᵀB by "
                    f"{ratio:.1f} standard errors (allowed {z})",
                    seed,
                    reproduction,
                    example,
                )
        if declared is not None:
            squared = ((estimates - exact) ** 2).sum(axis=(1, 2))
            mean = float(squared.mean())
            spread = float(squared.std(ddof=1) / math.sqrt(repeats))
            excess = (
                (mean - declared) / spread if spread > 0 else (math.inf if mean > declared else 0)
            )
            worst_bound = max(worst_bound, excess)
            if mean > declared + z * spread:
                return _failed(
                    name,
                    "the declared error bound is exceeded",
                    {"mean_squared_error": mean, "declared_bound": declared},
                    tolerance,
                    f"on pair {index} the mean squared error {mean:.6g} exceeds the "
                    f"declared bound {declared:.6g} by {excess:.1f} standard errors",
                    seed,
                    reproduction,
                    example,
                )
    figures = {
        "pairs": len(pairs),
        "unbiased_declared": unbiased,
        "bound_declared": callable(bound),
    }
    if unbiased:
        figures["worst_mean_error_in_standard_errors"] = worst_unbiased
    if callable(bound):
        figures["worst_excess_over_bound_in_standard_errors"] = worst_bound
    return CheckResult(
        name,
        PASS,
        f"declared guarantees hold on {len(pairs)} adversarial pairs",
        figures,
        tolerance,
    )


def check_determinism(
    target: KernelTarget, *, profile: str = "quick", seed: int = 0, device: str = "cpu"
) -> CheckResult:
    """The same seed gives the same bytes, and decoding is repeatable."""
    name = "determinism"
    A, B = gaussian_pair(257, 6, 5, seed, 2)  # 257 rows: not a multiple of any block size
    try:
        first, second = (
            target.factory(seed=seed, device=device),
            target.factory(seed=seed, device=device),
        )
        pa1, pb1 = first.encode_a(A), first.encode_b(B)
        pa2, pb2 = second.encode_a(A.copy()), second.encode_b(B.copy())
        c1 = to_numpy(first.estimate(pa1, pb1))
        c2 = to_numpy(second.estimate(pa1, pb1))
    except Exception as error:
        return _crash(name, target, seed, "encoding a 257-row pair twice", error)
    same_bytes = pa1 == pa2 and pb1 == pb2
    same_estimate = np.array_equal(c1, c2)
    figures = {"same_bytes": same_bytes, "same_estimate": bool(same_estimate)}
    if not (same_bytes and same_estimate):
        return _failed(
            name,
            "the same seed gave different results",
            figures,
            {},
            "two kernels built with the same seed produced different payload bytes or estimates",
            seed,
            _reproduction(
                target,
                seed,
                f"A, B = gaussian_pair(257, 6, 5, seed={seed}, trial=2)\n"
                f"print(factory(seed={seed}).encode_a(A) == factory(seed={seed}).encode_a(A))",
            ),
        )
    return CheckResult(name, PASS, "same seed, same bytes and estimates", figures, {})


def _bad_inputs(dtype=np.float64) -> dict[str, Any]:
    good = np.random.default_rng(0).standard_normal((16, 3))
    with_nan, with_inf = good.copy(), good.copy()
    with_nan[3, 1] = np.nan
    with_inf[0, 2] = -np.inf
    return {
        "NaN entry": with_nan,
        "infinite entry": with_inf,
        "no rows": np.zeros((0, 3)),
        "no columns": np.zeros((16, 0)),
        "integer dtype": np.arange(48, dtype=np.int64).reshape(16, 3),
        "complex dtype": good.astype(np.complex128),
        "one-dimensional": good[:, 0].copy(),
        "three-dimensional": good.reshape(4, 4, 3),
    }


def check_robustness(
    target: KernelTarget, *, profile: str = "quick", seed: int = 0, device: str = "cpu"
) -> CheckResult:
    """Bad input raises; zero and constant columns give finite estimates."""
    name = "robustness"
    try:
        kernel = target.factory(seed=seed, device=device)
    except Exception as error:
        return _crash(name, target, seed, "building the kernel", error)
    accepted = []
    for label, bad in _bad_inputs().items():
        for method in ("encode_a", "encode_b"):
            try:
                getattr(kernel, method)(bad)
            except Exception:
                continue
            accepted.append(f"{method}({label})")
    figures: dict[str, Any] = {"bad_inputs_tried": 2 * len(_bad_inputs())}
    if accepted:
        return _failed(
            name,
            "bad input was accepted",
            {**figures, "accepted": accepted},
            {},
            f"these calls returned instead of raising: {', '.join(accepted)}",
            seed,
            _reproduction(
                target,
                seed,
                "from quantmm.conformance.kernel_checks import _bad_inputs\n"
                "for label, bad in _bad_inputs().items():\n"
                "    try:\n        kernel.encode_a(bad); print('accepted', label)\n"
                "    except Exception as error:\n        print('refused', label, error)",
            ),
        )
    special = np.random.default_rng([seed, 3]).standard_normal((40, 4))
    special[:, 1] = 0.0  # a zero column
    special[:, 2] = 2.5  # a constant column
    try:
        estimate = to_numpy(kernel.estimate(kernel.encode_a(special), kernel.encode_b(special)))
    except Exception as error:
        return _crash(name, target, seed, "encoding zero and constant columns", error)
    if estimate.shape != (4, 4) or not np.isfinite(estimate).all():
        return _failed(
            name,
            "zero or constant columns gave a non-finite estimate",
            {**figures, "estimate": np.asarray(estimate, dtype=float).tolist()},
            {},
            "a 40x4 matrix with a zero and a constant column gave an estimate that is not a "
            "finite 4x4 array",
            seed,
            _reproduction(
                target,
                seed,
                f"M = np.random.default_rng([{seed}, 3]).standard_normal((40, 4))\n"
                "M[:, 1] = 0.0; M[:, 2] = 2.5\n"
                "print(kernel.estimate(kernel.encode_a(M), kernel.encode_b(M)))",
            ),
        )
    try:
        kernel.estimate(kernel.encode_a(special), kernel.encode_b(special[:39]))
    except Exception:
        pass
    else:
        return _failed(
            name,
            "payloads for different n were combined",
            figures,
            {},
            "estimate() accepted payloads of a 40-row A and a 39-row B",
            seed,
            _reproduction(
                target,
                seed,
                "M = np.ones((40, 2))\nprint(kernel.estimate(kernel.encode_a(M), "
                "kernel.encode_b(M[:39])))",
            ),
        )
    return CheckResult(
        name, PASS, "bad input raises; zero and constant columns stay finite", figures, {}
    )


#: The kernel checks, in the order the harness runs them.
KERNEL_CHECKS: dict[str, Callable[..., CheckResult]] = {
    "rate_honesty": check_rate_honesty,
    "determinism": check_determinism,
    "robustness": check_robustness,
    "converse": check_converse,
    "claimed_guarantees": check_claimed_guarantees,
}
