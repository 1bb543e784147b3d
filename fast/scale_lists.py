"""Tuning the list of scales β_1 < … < β_k of a Voronoi code for Gaussian data (theory.md §1.4; NQ).

A Voronoi code with nesting ratio q, lattice Λ and scale β maps unit-variance entries to an error
of β²·σ²(Λ) per entry when the block does not overload; a small β is accurate but overloads often.
With a list of k scales each block takes the first that does not overload (NQ), and a block that
overloads at all k is an *escape*: :class:`quantmm.fast.NestedLatticeMatmul` re-encodes it at
β_k·2^e (e the smallest that works) and pays for the block's index and e in its payload.

:func:`tune_betas` chooses the list for iid N(0, 1) entries (what a rotated, normalized column
looks like) by minimizing the predicted gap to Γ:

1. draw ``blocks`` Gaussian blocks of 8 and their dither (counter-based, seeded);
2. on a geometric grid of β (1/16 octave apart, see ``_grid``) record for every block
   and every grid β whether it decodes without overload (the exact test of
   :class:`~quantmm.fast.voronoi.VoronoiCode`);
3. for a candidate list (k grid points) every block takes its first working β_j (or escapes);
   with ε the mean squared error per entry and ρ = E[e·x] per entry, the error splits as
   e = ρx + w with w uncorrelated with x, so x̂ = (1 + ρ)x + w and the effective error after the
   best scaling is ε_eff = (ε − ρ²)/(1 + ρ)². First-fit selection makes ρ < 0 (a block keeps a
   small β only when its dithered error points inward), so ρ matters: at E8, q = 4 it is about
   −0.036 against ε ≈ 0.074. The matmul distortion of two such codes is D = 1 − (1 + ε_eff)^(−2)
   (:func:`predicted_gap_db`); the rate is log2 q + log2(k)/8 plus the escapes' bits per entry;
4. coordinate descent over the list's grid indices minimizes 10·log10(D/Γ(R)).

The result is a function of (lattice, q, k, blocks, seed) alone; it uses only NumPy on the CPU,
and the grid is fixed, so the chosen β are grid values: platform rounding of a sample cannot
move them except by a whole grid step, which a test would show.

>>> betas = tune_betas("E8", q=14, k=4, blocks=2048)
>>> len(betas), all(a < b for a, b in zip(betas, betas[1:]))
(4, True)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .counter_random import STREAM_TUNING, uniform, validated_seed
from .voronoi import BLOCK, VoronoiCode

__all__ = ["ESCAPE_BITS", "predicted_gap_db", "tune_betas"]

#: Payload bits per escaped block: its index (32 bits) and its doubling exponent (8 bits).
ESCAPE_BITS = 40


def _gaussian_blocks(blocks: int, seed: int) -> np.ndarray:
    """Seeded N(0, 1) blocks (blocks, 8) by Box–Muller from the counter-based generator."""
    index = np.arange(blocks * BLOCK // 2, dtype=np.int64)
    u1 = uniform(np, seed, STREAM_TUNING, (index, 0))
    u2 = uniform(np, seed, STREAM_TUNING, (index, 1))
    radius = np.sqrt(-2.0 * np.log1p(-u1))
    angle = 2.0 * np.pi * u2
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)]).reshape(blocks, BLOCK)


def _grid(q: int) -> np.ndarray:
    """Candidate scales 2^(i/16)·0.5/q, i = 0…111: 1/16-octave steps over seven octaves."""
    return 2.0 ** (np.arange(112) / 16.0) * (0.5 / q)


def predicted_gap_db(epsilon: float, rate: float) -> float:
    """10·log10(D/Γ(R)) for MMSE-scaled codes with error ε per entry on unit-variance data.

    With x̂ = x + e on both sides (e independent of x, E[e²] = ε) and α = 1/(1 + ε), the error
    of α²·x̂ᵀŷ against xᵀy per coordinate is (α² − 1)xy + α²(xf + ey + ef), of variance
    (α² − 1)² + α⁴(2ε + ε²) = (2ε + ε²)/(1 + ε)² = 1 − (1 + ε)^(−2).

    The Gaussian test channel has ε = s/(1 − s), s = 2^(−2R) (its MMSE residual ε/(1 + ε) is s),
    and then D = 1 − (1 − s)² = φ(R) = Γ(R):

    >>> s = 2.0**-8
    >>> abs(predicted_gap_db(s / (1 - s), 4.0)) < 1e-12
    True
    """
    if not rate >= 1.0:  # Γ = φ above R* ≈ 0.906; every Voronoi code has rate >= log2(2) = 1
        raise ValueError(f"rate must be >= 1 here, got {rate!r}")
    distortion = 1.0 - (1.0 + epsilon) ** -2
    phi = 2.0 ** (-2.0 * rate) * (2.0 - 2.0 ** (-2.0 * rate))
    return 10.0 * math.log10(distortion / phi)


RULES = ("first_fit", "safe")


def _outcomes(code: VoronoiCode, x: np.ndarray, z: np.ndarray, grid: np.ndarray, rule: str):
    """Per grid β and block: works?, mean squared error per entry, mean of error·x per entry."""
    fine, error2, cross = [], [], []
    if rule == "safe":
        for beta in grid:  # the dithered error is uniform on β·V(Λ), independent of x
            code_at = VoronoiCode(code.lattice.name, code.q, (float(beta),), code.seed)
            fine.append(code_at.safe_scale_index(x) == 0)
            error2.append(np.full(len(x), beta * beta * code.lattice.second_moment))
            cross.append(np.zeros(len(x)))
        return np.stack(fine), np.stack(error2), np.stack(cross)
    for beta in grid:
        codes, works = code.encode_at_scale(x, float(beta), z)
        error = code.decode_at_scale(codes, float(beta), z) - x
        fine.append(works)
        error2.append((error**2).mean(axis=1))
        cross.append((error * x).mean(axis=1))
    return np.stack(fine), np.stack(error2), np.stack(cross)


@cache
def tune_betas(
    lattice: str, q: int, k: int, rule: str = "first_fit", blocks: int = 1 << 14, seed: int = 0
) -> tuple[float, ...]:
    """The k-scale list that minimizes the predicted gap to Γ (module docstring), as floats.

    ``rule`` is how blocks pick their scale: "first_fit" (the first that decodes, NQ; used with
    MMSE scaling) or "safe" (the first at which the block cannot overload for any dither,
    :meth:`~quantmm.fast.voronoi.VoronoiCode.safe_scale_index`; used with unbiased scaling).
    """
    seed = validated_seed(seed)
    if not isinstance(k, int) or not 1 <= k <= 16:
        raise ValueError(f"k must be an integer in [1, 16], got {k!r}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    code = VoronoiCode(lattice, q, (1.0,), seed=seed)
    x = _gaussian_blocks(blocks, seed)
    z = code.dither(np.arange(blocks, dtype=np.int64))
    grid = _grid(code.q)
    fine, error2, cross = _outcomes(code, x, z, grid, rule)
    if not fine[-1].all():
        raise RuntimeError(f"scale grid too short for q={q}: raise _grid's upper end")
    first_fine = np.argmax(fine, axis=0)  # smallest working grid index per block
    sigma2 = code.lattice.second_moment
    base_rate = math.log2(code.q) + math.log2(k) / BLOCK
    columns = np.arange(blocks)

    def gap(indices: tuple[int, ...]) -> float:
        chosen = np.full(blocks, -1)
        for j in reversed(indices):
            chosen = np.where(fine[j], j, chosen)
        escaped = chosen < 0
        top = grid[indices[-1]]
        doublings = np.maximum(np.ceil(np.log2(grid[first_fine] / top)), 1)
        index = np.maximum(chosen, 0)
        error = np.where(escaped, (top * 2.0**doublings) ** 2 * sigma2, error2[index, columns])
        correlation = np.where(escaped, 0.0, cross[index, columns])
        epsilon, rho = float(error.mean()), float(correlation.mean())
        effective = (epsilon - rho * rho) / (1.0 + rho) ** 2
        rate = base_rate + ESCAPE_BITS * float(escaped.mean()) / BLOCK
        return predicted_gap_db(effective, rate)

    quantiles = np.quantile(first_fine, np.linspace(0.5, 0.999, k))
    indices = tuple(sorted({int(v) for v in quantiles}))
    while len(indices) < k:
        indices = tuple(sorted({*indices, indices[-1] + 1}))
    best = gap(indices)
    improved = True
    while improved:
        improved = False
        for position in range(k):
            low = indices[position - 1] + 1 if position else 0
            high = indices[position + 1] - 1 if position + 1 < k else len(grid) - 1
            for candidate in range(low, high + 1):
                trial = (*indices[:position], candidate, *indices[position + 1 :])
                value = gap(trial)
                if value < best - 1e-12:
                    best, indices, improved = value, trial, True
    return tuple(float(grid[i]) for i in indices)


#: The stored table (:mod:`quantmm.fast.scale_table`): its (lattice, q) pairs and k, and the
#: block count and seed of tune_betas.
TABLE_LATTICES = ("Z", "A2", "D4", "E8")
TABLE_Q = range(2, 33)
TABLE_K = 4
TABLE_BLOCKS = 1 << 14
TABLE_SEED = 0

#: The table's file, relative to the package quantmm.fast (package data in pyproject.toml).
TABLE_FILE = "data/tuned_betas.json"
TABLE_SCHEMA = "quantmm-tuned-betas/1"


@dataclass(frozen=True)
class ScaleTable:
    """Lists ``betas[(lattice, q, k)] = tune_betas(lattice, q, k, rule, blocks, seed)``."""

    rule: str
    blocks: int
    seed: int
    betas: dict[tuple[str, int, int], tuple[float, ...]]


def format_table(table: ScaleTable) -> str:
    """The table file's text: a fixed header, then one entry per line in the dict's order, each
    float as its ``float.hex()`` string (exact), ASCII, a final newline.

    >>> print(format_table(ScaleTable("first_fit", 8, 0, {("Z", 2, 1): (0.75,)})))
    {
      "schema": "quantmm-tuned-betas/1",
      "generator": "python -m quantmm.fast.scale_lists fast/data/tuned_betas.json",
      "rule": "first_fit",
      "blocks": 8,
      "seed": 0,
      "floats": "float.hex",
      "entries": [
        {"lattice": "Z", "q": 2, "k": 1, "betas": ["0x1.8000000000000p-1"]}
      ]
    }
    <BLANKLINE>
    """
    header = {
        "schema": TABLE_SCHEMA,
        "generator": f"python -m quantmm.fast.scale_lists fast/{TABLE_FILE}",
        "rule": table.rule,
        "blocks": table.blocks,
        "seed": table.seed,
        "floats": "float.hex",
    }
    lines = ["{", *(f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in header.items())]
    rows = [
        json.dumps({"lattice": name, "q": q, "k": k, "betas": [beta.hex() for beta in betas]})
        for (name, q, k), betas in table.betas.items()
    ]
    lines += ['  "entries": [', ",\n".join(f"    {row}" for row in rows), "  ]", "}"]
    return "\n".join(lines) + "\n"


def parse_table(text: str, name: str = "<text>") -> ScaleTable:
    """The table in ``text``, the inverse of :func:`format_table`. ``ValueError`` naming ``name``
    if the schema is not ``quantmm-tuned-betas/1``, a float is not a canonical ``float.hex()``
    string, or a key repeats."""
    data = json.loads(text)
    if data.get("schema") != TABLE_SCHEMA or data.get("floats") != "float.hex":
        raise ValueError(f"{name}: schema must be {TABLE_SCHEMA!r} with floats 'float.hex'")
    betas: dict[tuple[str, int, int], tuple[float, ...]] = {}
    for entry in data["entries"]:
        key = (str(entry["lattice"]), int(entry["q"]), int(entry["k"]))
        values = tuple(float.fromhex(word) for word in entry["betas"])
        if [value.hex() for value in values] != entry["betas"]:
            raise ValueError(f"{name}: {key}: betas must be canonical float.hex() strings")
        if key in betas:
            raise ValueError(f"{name}: {key} appears twice")
        betas[key] = values
    return ScaleTable(str(data["rule"]), int(data["blocks"]), int(data["seed"]), betas)


def load_table() -> ScaleTable:
    """The table installed with the package (``fast/data/tuned_betas.json``)."""
    source = resources.files("quantmm.fast").joinpath(TABLE_FILE)
    return parse_table(source.read_text(encoding="ascii"), str(source))


def default_betas(lattice: str, q: int, k: int, rule: str = "first_fit") -> tuple[float, ...]:
    """The stored tuned first-fit list for (lattice, q, k) if there is one, else
    :func:`tune_betas` (computed once per process).

    >>> [round(beta * 14, 3) for beta in default_betas("E8", 14, 4)]  # β·q
    [2.954, 3.668, 4.555, 6.169]
    """
    from .scale_table import TUNED_BETAS

    stored = TUNED_BETAS.get((lattice, q, k)) if rule == "first_fit" else None
    return stored if stored is not None else tune_betas(lattice, q, k, rule)


def write_table(path: str) -> None:
    """Regenerate the stored table (``python -m quantmm.fast.scale_lists PATH``, PATH normally
    ``fast/data/tuned_betas.json``): TABLE_LATTICES × TABLE_Q in that order, k = TABLE_K."""
    betas = {
        (name, q, TABLE_K): tune_betas(name, q, TABLE_K, blocks=TABLE_BLOCKS, seed=TABLE_SEED)
        for name in TABLE_LATTICES
        for q in TABLE_Q
    }
    text = format_table(ScaleTable("first_fit", TABLE_BLOCKS, TABLE_SEED, betas))
    with open(path, "w", encoding="ascii", newline="\n") as handle:
        handle.write(text)


if __name__ == "__main__":
    import sys

    write_table(sys.argv[1])
