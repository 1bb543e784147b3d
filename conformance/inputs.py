"""The inputs the kernel checks use: shapes drawn per run, input families, bad inputs.

Everything is a function of the profile and the *run seed*, so a failure can be reproduced from
the two numbers a certificate records (every reproduction it prints starts with
``plan = inputs.plan(PROFILE, RUN_SEED)``). Shapes are drawn per run, non-round and with a ≠ b,
so a kernel cannot recognise the harness's inputs by their shape; without ``--seed`` the run seed
itself is drawn at random.

Families:

- ``RATE_FAMILIES``: large matrices on which both payloads' rates are measured — Gaussian,
  Cauchy, Student t(3), huge (1e30) and tiny (1e-30) magnitudes, zero columns, odd n;
- ``EDGE_FAMILIES``: small matrices every kernel must meet with a finite estimate of the right
  shape (or a clear exception, for a family it declares in ``unsupported``);
- ``BAD_INPUTS``: matrices every encoder must refuse (NaN, infinity, empty, integer, complex,
  1-D, 3-D).

>>> p = plan("quick", 7)
>>> A, B = p.converse_pair(0)
>>> A.shape[0] == B.shape[0] and A.shape[1] != B.shape[1] and A.shape[0] % 8 != 0
True
>>> p == plan("quick", 7)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BAD_INPUTS", "EDGE_FAMILIES", "PROFILES", "RATE_FAMILIES", "Plan", "plan"]

PROFILES = {
    # converse trials, converse rows, rate rows, columns range, guarantee pairs and seeds
    "quick": {
        "trials": 8,
        "converse_rows": (961, 1087),
        "rate_rows": (4001, 4199),
        "columns": (24, 40),
        "rate_columns": (17, 29),
        "guarantee": (6, 40),
    },
    "full": {
        "trials": 20,
        "converse_rows": (3969, 4223),
        "rate_rows": (4001, 4199),
        "columns": (100, 140),
        "rate_columns": (48, 80),
        "guarantee": (30, 200),
    },
}
RATE_FAMILIES = ("gaussian", "cauchy", "student_t3", "huge", "tiny", "zero_columns", "odd_n")
EDGE_FAMILIES = (
    "n=1",
    "n=7",
    "n=9",
    "zero_constant_columns",
    "huge",
    "tiny",
    "cauchy",
    "student_t3",
    "fortran_order",
    "non_contiguous",
    "float32",
)
BAD_INPUTS = (
    "NaN entry",
    "infinite entry",
    "no rows",
    "no columns",
    "integer dtype",
    "complex dtype",
    "one-dimensional",
    "three-dimensional",
)


def _family(name: str, rows: int, columns: int, rng: np.random.Generator) -> np.ndarray:
    if name == "cauchy":
        return rng.standard_cauchy((rows, columns))
    if name == "student_t3":
        return rng.standard_t(3, (rows, columns))
    matrix = rng.standard_normal((rows, columns))
    if name == "huge":
        return matrix * 1e30
    if name == "tiny":
        return matrix * 1e-30
    if name == "zero_columns":
        matrix[:, :: max(1, columns // 4)] = 0.0
    if name == "zero_constant_columns":
        matrix[:, 0] = 0.0
        matrix[:, -1] = 2.5
    if name == "float32":
        return matrix.astype(np.float32)
    return matrix


def _between(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1))


def _not_round(rng: np.random.Generator, low: int, high: int) -> int:
    """An n in [low, high] that is 2 mod 4: even, but not a multiple of 4 (so not of 8)."""
    value = _between(rng, low, high)
    return value - (value % 4) + 2


def _two_sizes(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    first = _between(rng, low, high)
    second = _between(rng, low, high - 1)
    return first, second + (second >= first)


@dataclass(frozen=True)
class Plan:
    """The drawn shapes and seeds of one run (see the module docstring)."""

    profile: str
    run_seed: int
    kernel_seed: int
    trials: int
    converse_shape: tuple[int, int, int]
    rate_shape: tuple[int, int, int]
    edge_columns: tuple[int, int]
    guarantee_pairs: int
    guarantee_seeds: int

    def _rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng([self.run_seed, *stream])

    def converse_pair(self, trial: int) -> tuple[np.ndarray, np.ndarray]:
        """Trial ``trial`` of the converse: iid N(0, 1) A (n×a) and B (n×b)."""
        n, a, b = self.converse_shape
        rng = self._rng(1, trial)
        return rng.standard_normal((n, a)), rng.standard_normal((n, b))

    def rate_pair(self, family: str) -> tuple[np.ndarray, np.ndarray]:
        """The large pair of ``family`` on which both payloads' rates are measured."""
        n, a, b = self.rate_shape
        n += family == "odd_n"
        rng = self._rng(2, RATE_FAMILIES.index(family))
        return _family(family, n, a, rng), _family(family, n, b, rng)

    def edge_pair(self, family: str) -> tuple[np.ndarray, np.ndarray]:
        """The small pair of ``family``; :meth:`layout` says how it is handed to the kernel."""
        a, b = self.edge_columns
        rows = {"n=1": 1, "n=7": 7, "n=9": 9, "cauchy": 257, "student_t3": 257}.get(family, 65)
        rng = self._rng(3, EDGE_FAMILIES.index(family))
        return _family(family, rows, a, rng), _family(family, rows, b, rng)

    @staticmethod
    def layout(family: str) -> str:
        """ "F" (Fortran order), "strided" (every other row of a larger array) or "C"."""
        return {"fortran_order": "F", "non_contiguous": "strided"}.get(family, "C")

    def bad_input(self, label: str) -> np.ndarray:
        """The bad input ``label`` (one of :data:`BAD_INPUTS`)."""
        good = self._rng(4).standard_normal((16, 3))
        if label == "NaN entry":
            good[3, 1] = np.nan
        elif label == "infinite entry":
            good[0, 2] = -np.inf
        return {
            "no rows": np.zeros((0, 3)),
            "no columns": np.zeros((16, 0)),
            "integer dtype": np.arange(48, dtype=np.int64).reshape(16, 3),
            "complex dtype": good.astype(np.complex128),
            "one-dimensional": good[:, 0].copy(),
            "three-dimensional": good.reshape(4, 4, 3),
        }.get(label, good)

    def mismatched_pair(self) -> tuple[np.ndarray, np.ndarray]:
        """A 40-row A and a 39-row B: their payloads must not be combined."""
        rng = self._rng(5)
        return rng.standard_normal((40, 4)), rng.standard_normal((39, 3))

    def guarantee_pair_list(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Adversarial pairs from the public hypothesis strategies (for declared guarantees)."""
        from .strategies import draw_examples, matrix_pairs

        drawn = draw_examples(matrix_pairs(), self.guarantee_pairs, self.run_seed % 2**32)
        return [(np.array(A), np.array(B)) for A, B in drawn]

    def edge_seed(self, family: str) -> int:
        """The kernel seed of edge family ``family`` (each family its own, so that a kernel
        whose output depends on its seed meets several seeds)."""
        return (self.kernel_seed + 1000 + EDGE_FAMILIES.index(family)) % 2**63

    def guarantee_seed(self, repeat: int) -> int:
        """The kernel seed of repeat ``repeat`` of a declared guarantee."""
        return (self.kernel_seed + 1 + repeat) % 2**63


def plan(profile: str, run_seed: int) -> Plan:
    """The shapes and seeds of a run of ``profile`` with ``run_seed``."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    if isinstance(run_seed, bool) or not isinstance(run_seed, (int, np.integer)) or run_seed < 0:
        raise ValueError(f"the run seed must be a non-negative integer, got {run_seed!r}")
    sizes = PROFILES[profile]
    rng = np.random.default_rng([int(run_seed), 0])
    a, b = _two_sizes(rng, *sizes["columns"])
    rate_a, rate_b = _two_sizes(rng, *sizes["rate_columns"])
    edge = _two_sizes(rng, 3, 7)
    return Plan(
        profile,
        int(run_seed),
        int(rng.integers(0, 2**62)),
        sizes["trials"],
        (_not_round(rng, *sizes["converse_rows"]), a, b),
        (_not_round(rng, *sizes["rate_rows"]), rate_a, rate_b),
        edge,
        *sizes["guarantee"],
    )


def describe(value: Any) -> str:
    """A short description of an input for messages: shape and dtype."""
    return f"{'×'.join(map(str, value.shape))} {value.dtype}"
