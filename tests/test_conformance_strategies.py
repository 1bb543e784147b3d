"""quantmm.conformance.strategies: the public hypothesis strategies.

Each property is checked on examples drawn under a fixed hypothesis seed, against what the module
docstring promises: every structure is produced and has its documented shape (rank, zero or
constant columns, scale), entries are finite and within ELEMENT_BOUND, AᵀB does not overflow,
pairs share their row count, row counts that are not multiples of 8 occur, the same seed gives
the same bytes. Lattice inputs are checked against the exact brute force of
quantmm.conformance.brute_force (ties really are ties) and against the documented range.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

from quantmm.conformance.brute_force import (
    closest_points,
)
from quantmm.conformance.strategies import (
    ELEMENT_BOUND,
    LATTICE_DIMENSIONS,
    LATTICE_RANGE_LIMIT,
    MATRIX_STRUCTURES,
    STRUCTURES,
    TINY_EXPONENTS,
    draw_examples,
    lattice_inputs,
    matrices,
    matrix_pairs,
)


def draw(strategy, count: int, seed: int = 0) -> list:
    """``count`` examples of ``strategy`` under hypothesis seed ``seed`` (generation only)."""
    return draw_examples(strategy, count, seed)


def as_bytes(example) -> bytes:
    """The bytes of an example (nested tuples of arrays and labels), dtype and shape included."""
    if isinstance(example, np.ndarray):
        return str((example.dtype, example.shape)).encode() + example.tobytes()
    if isinstance(example, str):
        return example.encode()
    return b"|".join(as_bytes(part) for part in example)


def within_bound(x: np.ndarray) -> bool:
    return bool(np.isfinite(x).all() and np.abs(x).max(initial=0.0) <= ELEMENT_BOUND[x.dtype])


# --- matrices -------------------------------------------------------------------------------------


def test_every_structure_is_produced():
    """With the default arguments, 400 pairs cover all 10 structures and 300 single matrices
    all 9 single-matrix structures ("correlated" is for pairs only)."""
    pair_labels = {label for label, _ in draw(matrix_pairs(labelled=True), 400)}
    assert pair_labels == set(STRUCTURES)
    matrix_labels = {label for label, _ in draw(matrices(labelled=True), 300)}
    assert matrix_labels == set(MATRIX_STRUCTURES)


def test_pairs_are_bounded_finite_same_rows_and_products_do_not_overflow():
    """Every pair: same row count and dtype, each in float32/float64, finite, |x| ≤ the bound;
    AᵀB computed in the pair's own dtype raises no overflow (np.errstate(over="raise")) and is
    finite, and so are the squared Frobenius norms. Row counts that are not multiples of 8 occur,
    and so do both dtypes."""
    rows, dtypes = set(), set()
    for A, B in draw(matrix_pairs(), 300, seed=1):
        assert A.ndim == B.ndim == 2 and A.shape[0] == B.shape[0] >= 1
        assert A.dtype == B.dtype and A.dtype in (np.float32, np.float64)
        assert within_bound(A) and within_bound(B)
        with np.errstate(over="raise"):
            assert np.isfinite(A.T @ B).all()
            assert np.isfinite((A * A).sum()) and np.isfinite((B * B).sum())
        rows.add(A.shape[0])
        dtypes.add(A.dtype)
    assert any(n % 8 for n in rows) and len(dtypes) == 2


def test_default_shapes_and_fixed_sizes():
    """Defaults: 1 ≤ rows ≤ 96, 1 ≤ columns ≤ 6; ints fix the shape."""
    for A in draw(matrices(), 100, seed=2):
        assert 1 <= A.shape[0] <= 96 and 1 <= A.shape[1] <= 6 and within_bound(A)
    for A, B in draw(matrix_pairs(rows=9, columns=3, dtypes=(np.float32,)), 40, seed=3):
        assert A.shape == B.shape == (9, 3) and A.dtype == B.dtype == np.float32


def single(structure: str, count: int = 40, rows=None, columns=None):
    """Examples of one structure, float64 and float32, with enough rows and columns (by default
    32…64 and 4…6) for the structure's signature to be visible."""
    rows = st.integers(32, 64) if rows is None else rows
    columns = st.integers(4, 6) if columns is None else columns
    strategy = matrices(rows=rows, columns=columns, structures=(structure,))
    return draw(strategy, count, seed=len(structure))


def test_low_rank_has_rank_at_most_three():
    """low_rank: rank r ≤ 3 < columns; numerical rank counting singular values above
    σ_max·max(n, a)·eps(dtype)·10, a margin over the rounding of the entries to the dtype."""
    for A in single("low_rank"):
        singular = np.linalg.svd(A.astype(np.float64), compute_uv=False)
        tolerance = singular[0] * max(A.shape) * np.finfo(A.dtype).eps * 10
        assert (singular > tolerance).sum() <= 3 < A.shape[1]


def test_one_huge_column_stands_out():
    """one_huge_column: the largest column norm is at least 2^7 times the second largest (the
    column is scaled by ≥ 2^10; Gaussian columns of ≥ 32 rows differ in norm by far less than
    the remaining factor 8)."""
    for A in single("one_huge_column"):
        norms = np.sort(np.linalg.norm(A.astype(np.float64), axis=0))
        assert norms[-1] >= 2.0**7 * norms[-2]


def test_zero_and_constant_columns():
    """zero_columns: some column is all zero; constant_columns: some column has one value."""
    for A in single("zero_columns"):
        assert (A == 0).all(axis=0).any()
    for A in single("constant_columns"):
        assert (A == A[0]).all(axis=0).any()


def test_heavy_tailed_range():
    """heavy_tailed: ±U^(−1/α), U ∈ [2^−20, 1), α ≥ 0.75, so 1 ≤ |x| ≤ 2^(20/0.75) (float32
    rounding aside), and the tail is heavy: some entry exceeds 10 in most examples."""
    examples = single("heavy_tailed")
    for A in examples:
        magnitudes = np.abs(A.astype(np.float64))
        assert magnitudes.min() >= 1.0 and magnitudes.max() <= 2.0 ** (20 / 0.75) * (1 + 1e-6)
    assert sum(np.abs(A).max() > 10 for A in examples) > len(examples) / 2


def test_huge_and_tiny_scales():
    """huge_scale: max |x| = 2^k with E − 8 ≤ k ≤ E for the bound 2^E; tiny_scale: max |x| =
    2^−k with k in TINY_EXPONENTS[dtype] (up to the dtype's rounding of a power of two: exact)."""
    for A in single("huge_scale"):
        k = math.log2(np.abs(A).max())
        bound = math.log2(ELEMENT_BOUND[A.dtype])
        assert k == int(k) and bound - 8 <= k <= bound
    for A in single("tiny_scale"):
        low, high = TINY_EXPONENTS[A.dtype]
        k = -math.log2(np.abs(A).max())
        assert k == int(k) and low <= k <= high


def test_sparse_has_at_most_32_nonzeros_and_reaches_the_bound_region():
    """sparse: at most min(n·a, 32) nonzero entries; the drawn values include large and tiny
    magnitudes (hypothesis' float edge cases), never beyond the bound."""
    examples = single("sparse", count=80, rows=st.integers(1, 40), columns=st.integers(1, 4))
    largest = []
    for A in examples:
        assert np.count_nonzero(A) <= min(A.size, 32) and within_bound(A)
        largest.append(np.abs(A).max())
    assert max(largest) >= 1e6


def test_correlated_pairs_include_exactly_dependent_columns():
    """correlated: B = A·W + ε·G; with ε = 0 (one of the three drawn levels) B lies in the column
    space of A, so its least-squares residual on A is ~0 for some examples with n > a."""
    pairs = draw(
        matrix_pairs(rows=st.integers(16, 40), dtypes=(np.float64,), structures=("correlated",)),
        60,
        seed=4,
    )
    residuals = []
    for A, B in pairs:
        coefficients = np.linalg.lstsq(A, B, rcond=None)[0]
        residuals.append(np.linalg.norm(B - A @ coefficients) / max(np.linalg.norm(B), 1e-300))
    assert min(residuals) < 1e-10 and max(residuals) > 1e-3


def test_same_seed_same_bytes_other_seed_other_bytes():
    """Reproducibility: two runs with one seed give identical bytes; another seed differs."""
    strategy = matrix_pairs(labelled=True)
    first = [as_bytes(e) for e in draw(strategy, 40, seed=7)]
    assert first == [as_bytes(e) for e in draw(strategy, 40, seed=7)]
    assert first != [as_bytes(e) for e in draw(strategy, 40, seed=8)]
    vectors = lattice_inputs("E8", np.float32)
    assert [as_bytes(e) for e in draw(vectors, 40, seed=7)] == [
        as_bytes(e) for e in draw(vectors, 40, seed=7)
    ]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: matrices(structures=("correlated",)), ValueError, "structures"),
        (lambda: matrices(structures=()), ValueError, "structures"),
        (lambda: matrix_pairs(structures=("spiky",)), ValueError, "structures"),
        (lambda: matrices(rows=0), ValueError, "rows"),
        (lambda: matrix_pairs(columns=2.5), ValueError, "columns"),
        (lambda: matrices(dtypes=(np.float16,)), ValueError, "dtypes"),
        (lambda: matrices(dtypes=()), ValueError, "dtypes"),
        (lambda: lattice_inputs("E7"), ValueError, "lattice"),
        (lambda: lattice_inputs("E8", np.int32), TypeError, "dtype"),
    ],
)
def test_bad_arguments_are_refused(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- lattice inputs -------------------------------------------------------------------------------


def closest_set(name: str, x: np.ndarray) -> set:
    """The exact brute-force set of closest points (A2: integer coordinates)."""
    return closest_points(x.tolist(), name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(LATTICE_DIMENSIONS))
def test_lattice_inputs_cover_the_hard_cases(name, dtype):
    """200 examples: right dimension and dtype, finite, below the documented range limit (A2:
    2^20); among them exact ties (brute force: several closest points), negative zeros,
    subnormals, values within a factor 4 of the limit, and exact half-integers."""
    limit = 2.0**20 if name == "A2" else LATTICE_RANGE_LIMIT[np.dtype(dtype)]
    examples = draw(lattice_inputs(name, dtype), 200, seed=11)
    for x in examples:
        assert x.shape == (LATTICE_DIMENSIONS[name],) and x.dtype == dtype
        assert np.isfinite(x).all() and np.abs(x).max() < limit
    values = np.concatenate(examples)
    tiny = np.finfo(dtype).tiny
    assert sum(len(closest_set(name, x)) > 1 for x in examples) >= 10
    assert ((values == 0) & np.signbit(values)).any()
    assert ((values != 0) & (np.abs(values) < tiny)).any()
    assert (np.abs(values) >= limit / 4).any()
    assert (np.mod(values, 1) == 0.5).any()
