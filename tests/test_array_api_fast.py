"""quantmm.fast.lattices on array-API libraries: array-api-strict here, PyTorch and JAX in their
own interpreter, against the NumPy path bit for bit.

array-api-strict refuses everything that is not in the Python array API standard (NumPy-only
functions and methods, booleans multiplied into floats, two Python scalars in ``where``, arrays on
different devices); the tests run it at the 2024.12 standard with boolean indexing and
data-dependent shapes turned off, so the decoders use none of the optional features either.

The expected values are not computed here: every one is the NumPy path's answer for the same
input (``closest_point`` / ``closest_point_coordinates`` of a NumPy array), which
tests/test_fast_lattices.py checks against exact brute force, and which the byte-identity tests
(tests/bit_identity.py, tests/test_fast_compiled.py) pin to the compiled kernels. "Equal" means
the same bytes (signed zeros included) and the same dtype.

PyTorch cannot share quantmm's environment (torch needs sympy, which pins mpmath < 1.4), and
importing ``quantmm.fast`` imports mpmath (``quantmm/__init__`` and ``fast/functions.py``), so the
PyTorch/JAX test loads ``fast/backend.py`` and ``fast/lattices.py`` by path, as a package of
their own, in the interpreter ``QUANTMM_ARRAY_PYTHON`` (numpy, torch, jax; as in
tests/test_array_libraries.py); it skips when that variable is unset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

xps = pytest.importorskip(
    "array_api_strict",
    reason="array-api-strict is not installed (pip install 'quantmm[array-api]')",
)
compat = pytest.importorskip(
    "array_api_compat",
    reason="array-api-compat is not installed (pip install 'quantmm[array-api]')",
)

from test_fast_lattices import (  # noqa: E402  (after the skips: it needs nothing optional)
    A2_RANGE_LIMIT,
    HAND_CASES,
    RANGE_LIMIT,
    SCALES,
    TINY,
    a2_near_tie_inputs,
    random_inputs,
)

from quantmm.fast import backend  # noqa: E402
from quantmm.fast.lattices import (  # noqa: E402
    LATTICE_NAMES,
    closest_point,
    closest_point_coordinates,
    lattice,
)

ROOT = Path(__file__).parents[1]
VARIABLE = "QUANTMM_ARRAY_PYTHON"
DTYPES = (np.float32, np.float64)
CPU = xps.Device("CPU_DEVICE")
#: array-api-strict's second device: a new array made without ``device=`` would land on the CPU
#: device and mixing the two raises.
OTHER_DEVICE = xps.Device("device1")
#: (name passed to closest_point, dimension): every name closest_point takes, "Z" and "D" in
#: several dimensions.
CASES = [("Z", 1), ("Z", 5), ("D", 2), ("D", 3), ("D", 9), ("D4", 4), ("E8", 8), ("A2", 2)]
CASE_IDS = [f"{name}{d}" for name, d in CASES]
#: The code lattices (lattice(name)), whose integer coordinates closest_point_coordinates gives.
CODE_LATTICES = ("Z", "A2", "D4", "E8")


@pytest.fixture(autouse=True)
def strict_standard():
    """array-api-strict at the 2024.12 standard (take_along_axis's), without the optional
    boolean indexing and data-dependent shapes."""
    with xps.ArrayAPIStrictFlags(
        api_version="2024.12", boolean_indexing=False, data_dependent_shapes=False
    ):
        yield


def is_code_lattice(name: str) -> bool:
    try:
        lattice(name)
    except ValueError:
        return False
    return True


def test_every_lattice_is_covered():
    """CASES holds every name closest_point accepts (LATTICE_NAMES), and CODE_LATTICES every one
    that lattice() knows, each in its own dimension."""
    assert {name for name, _ in CASES} == set(LATTICE_NAMES)
    assert set(CODE_LATTICES) == {name for name in LATTICE_NAMES if is_code_lattice(name)}
    assert {(name, lattice(name).dimension) for name in CODE_LATTICES} <= set(CASES)


def limit_of(name: str, dtype) -> float:
    return A2_RANGE_LIMIT if name == "A2" else RANGE_LIMIT[dtype]


def inputs_for(name: str, d: int, dtype) -> dict[str, np.ndarray]:
    """Seeded random vectors at every scale of tests/test_fast_lattices.py (the near-limit one
    uniform over the documented range), and the adversarial ones: quarter- and half-integers
    (halfway coordinates, D_d parity ties, E8 coset ties, their negatives with −0.0), the
    hand-built tie cases of tests/test_fast_lattices.py, values just below the range limit
    (L − ½, L − ¼, L − ⅛: ties at the top of the range), tiny and subnormal entries, signed
    zeros, and for A2 the points nearest its Voronoi edges and deep holes."""
    rng = np.random.default_rng(100 + 10 * d + len(name))
    limit = limit_of(name, dtype)
    found = {
        f"random {label}": random_inputs(200 + d, (300, d), dtype, scale, limit)
        for label, scale in SCALES.items()
    }
    quarters = (rng.integers(-8, 9, size=(300, d)) / 4).astype(dtype)
    found["quarter-integers"] = quarters
    found["negated quarter-integers"] = -quarters
    found["half-integers"] = (rng.integers(-16, 17, size=(300, d)) / 2).astype(dtype)
    top = np.array([limit - 0.5, limit - 0.25, limit - 0.125, limit - 1.0])
    signs = rng.choice([-1.0, 1.0], size=(100, d))
    found["just below the limit"] = (rng.choice(top, size=(100, d)) * signs).astype(dtype)
    tiny = [*TINY[dtype], 0.0, -0.0, 0.5, -0.5]
    found["tiny and subnormal"] = rng.choice(np.array(tiny), size=(100, d)).astype(dtype)
    found["signed zeros"] = rng.choice(np.array([0.0, -0.0]), size=(20, d)).astype(dtype)
    hand = [case[1] for case in HAND_CASES if case[0] == name and len(case[1]) == d]
    if hand:
        found["hand-built ties"] = np.array(hand, dtype=dtype)
    if name == "A2":
        bits = 32 if dtype is np.float32 else 64
        for bound in (8.0, 1e3, A2_RANGE_LIMIT):
            near = a2_near_tie_inputs(500 + int(bound) % 97, 90, bits, bound)
            found[f"A2 edges and deep holes below {bound:g}"] = np.array(near, dtype=dtype)
    for x in found.values():
        assert x.dtype == dtype and x.shape[-1] == d and np.abs(x).max() < limit
    return found


def to_strict(x: np.ndarray, device=CPU):
    return xps.asarray(x, device=device)


def from_strict(result) -> np.ndarray:
    """A NumPy copy of an array-api-strict result, after checking that it is one."""
    assert compat.array_namespace(result) is xps, type(result)
    return np.asarray(result.to_device(CPU))


def assert_same_bits(got: np.ndarray, expected: np.ndarray, label: str) -> None:
    assert got.dtype == expected.dtype, (label, got.dtype, expected.dtype)
    assert got.shape == expected.shape, label
    assert np.array_equal(got, expected), label
    assert got.tobytes() == expected.tobytes(), f"{label}: signed zeros differ"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize(("name", "d"), CASES, ids=CASE_IDS)
def test_closest_point_equals_numpy_bit_for_bit(name, d, dtype):
    """closest_point of an array-api-strict array is an array-api-strict array of x's dtype and
    shape, with the bytes of closest_point of the same NumPy array, on every input of
    inputs_for. The expected values come from the NumPy path, which is itself checked against
    brute force in tests/test_fast_lattices.py."""
    for label, x in inputs_for(name, d, dtype).items():
        result = closest_point(to_strict(x), name)
        assert result.dtype == to_strict(x).dtype
        assert_same_bits(from_strict(result), closest_point(x, name), f"{name} {label}")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("name", CODE_LATTICES)
def test_closest_point_coordinates_equal_numpy(name, dtype):
    """closest_point_coordinates of an array-api-strict array: array-api-strict int64 with the
    values of the NumPy call, on every input of inputs_for. The expected values come from the
    NumPy path, which is itself checked against brute force in tests/test_fast_lattices.py."""
    d = lattice(name).dimension
    for label, x in inputs_for(name, d, dtype).items():
        result = closest_point_coordinates(to_strict(x), name)
        assert result.dtype == xps.int64
        assert_same_bits(from_strict(result), closest_point_coordinates(x, name), label)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize(("name", "d"), CASES, ids=CASE_IDS)
def test_result_stays_on_the_callers_device(name, d, dtype):
    """On array-api-strict's second device every array the decoders make goes there too (a
    constant made on the default device would raise when combined with x), and so does the
    result; the values are the NumPy path's (itself checked against brute force in
    tests/test_fast_lattices.py)."""
    x = inputs_for(name, d, dtype)["quarter-integers"]
    result = closest_point(to_strict(x, OTHER_DEVICE), name)
    assert result.device == OTHER_DEVICE
    assert_same_bits(from_strict(result), closest_point(x, name), name)
    if name in CODE_LATTICES and lattice(name).dimension == d:
        coordinates = closest_point_coordinates(to_strict(x, OTHER_DEVICE), name)
        assert coordinates.device == OTHER_DEVICE
        expected = closest_point_coordinates(x, name)
        assert_same_bits(from_strict(coordinates), expected, name)


@pytest.mark.parametrize("shape", [(8,), (2, 3, 8), (1, 1, 1, 8)])
@pytest.mark.parametrize("name", ["Z", "D", "E8"])
def test_any_leading_shape_and_input_untouched(name, shape):
    """Leading shapes other than one batch axis, and x unchanged afterwards; the values are the
    NumPy path's (itself checked against brute force in tests/test_fast_lattices.py)."""
    x = (np.random.default_rng(7).integers(-8, 9, size=shape) / 4).astype(np.float32)
    strict = to_strict(x)
    result = closest_point(strict, name)
    assert_same_bits(from_strict(result), closest_point(x, name), name)
    assert_same_bits(from_strict(strict), x, "input")


def nan_at(index: int, size: int, dtype=np.float64) -> np.ndarray:
    x = np.zeros(size, dtype=dtype)
    x[index] = np.nan
    return x


#: (id, x as NumPy, lattice): what tests/test_fast_lattices.py's BAD_INPUTS refuses, with the
#: dtypes array-api-strict has (it has no float16).
BAD_INPUTS = [
    ("NaN", nan_at(1, 8), "E8"),
    ("NaNs", np.array([[np.nan, 1.0], [np.nan, np.nan]]), "A2"),
    ("inf", np.array([np.inf] + [0.0] * 7), "E8"),
    ("-inf", np.array([0.0, -np.inf], dtype=np.float32), "A2"),
    ("int64", np.zeros(8, dtype=np.int64), "E8"),
    ("int32", np.zeros(4, dtype=np.int32), "D4"),
    ("uint8", np.zeros(3, dtype=np.uint8), "Z"),
    ("bool", np.zeros(3, dtype=bool), "D"),
    ("complex128", np.zeros(8, dtype=np.complex128), "E8"),
    ("complex64", np.zeros(2, dtype=np.complex64), "A2"),
    ("empty", np.zeros((0, 8)), "E8"),
    ("empty leading", np.zeros((3, 0, 2)), "A2"),
    ("scalar", np.asarray(0.5), "Z"),
    ("wrong axis E8", np.zeros((3, 7)), "E8"),
    ("wrong axis A2", np.zeros(3), "A2"),
    ("wrong axis D4", np.zeros((2, 2, 8), dtype=np.float32), "D4"),
    ("D1", np.zeros(1), "D"),
    ("at limit 64", np.array([2.0**50] + [0.0] * 7), "E8"),
    ("at limit 32", np.array([0.0, -(2.0**21)], dtype=np.float32), "Z"),
    ("above limit", np.array([1e300, 0.0]), "A2"),
    ("A2 at limit 64", np.array([2.0**20, 0.0]), "A2"),
    ("A2 at limit 32", np.array([0.0, 2.0**20], dtype=np.float32), "A2"),
    ("unknown", np.zeros(8), "E7"),
    ("not a name", np.zeros(8), 8),
]


def raised(call, *args) -> tuple[type, str]:
    with pytest.raises((TypeError, ValueError)) as info:
        call(*args)
    return type(info.value), str(info.value)


@pytest.mark.parametrize(("x", "name"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_raises_what_numpy_raises(x, name):
    """closest_point refuses an array-api-strict array with the exception type and message it
    gives for the same NumPy array (the expected message comes from the NumPy path, whose
    refusals tests/test_fast_lattices.py checks)."""
    assert raised(closest_point, to_strict(x), name) == raised(closest_point, x, name)


BAD_COORDINATE_INPUTS = [
    ("D is no code lattice", np.zeros(4), "D"),
    ("Z needs last axis 1", np.zeros(3), "Z"),
    ("A2 magnitude", np.array([2.0**50, 0.0]), "A2"),
    ("int32", np.zeros(8, dtype=np.int32), "E8"),
    ("NaN", nan_at(0, 4, np.float32), "D4"),
    ("wrong axis", np.zeros((5, 4)), "E8"),
]


@pytest.mark.parametrize(
    ("x", "name"), [c[1:] for c in BAD_COORDINATE_INPUTS], ids=[c[0] for c in BAD_COORDINATE_INPUTS]
)
def test_bad_input_to_coordinates_raises_what_numpy_raises(x, name):
    """As test_bad_input_raises_what_numpy_raises, for closest_point_coordinates."""
    expected = raised(closest_point_coordinates, x, name)
    assert raised(closest_point_coordinates, to_strict(x), name) == expected


def test_without_array_api_compat_other_arrays_get_a_clear_type_error(monkeypatch):
    """With array-api-compat missing (its import answers None), an array-api-strict array is
    refused with a TypeError naming the argument and the extra to install, while NumPy arrays and
    Python lists take the plain path with the same bits as before (the NumPy path, itself checked
    against brute force in tests/test_fast_lattices.py)."""
    x = np.random.default_rng(8).normal(size=(50, 8))
    expected = closest_point(x, "E8")
    monkeypatch.setattr(backend, "_array_api_compat", lambda: None)
    for call in (closest_point, closest_point_coordinates):
        with pytest.raises(TypeError) as info:
            call(to_strict(x), "E8")
        message = str(info.value)
        assert message.startswith("x has type array_api_strict.")
        assert "pip install 'quantmm[array-api]'" in message
    assert_same_bits(closest_point(x, "E8"), expected, "numpy")
    assert_same_bits(closest_point(x.tolist(), "E8"), expected, "list")


def test_quantmm_fast_imports_and_works_without_array_api_compat(tmp_path):
    """In a fresh interpreter where ``import array_api_compat`` fails, quantmm.fast imports,
    NumPy input decodes as in this process (the NumPy path, checked against brute force in
    tests/test_fast_lattices.py), and an array-api-strict array gets the TypeError."""
    x = [[0.6, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4], [0.25] * 8, [0.75] + [0.25] * 7]
    script = f"""
import sys
sys.modules["array_api_compat"] = None  # import array_api_compat now raises ImportError
import numpy as np
import array_api_strict
from quantmm.fast.lattices import closest_point
print(closest_point(np.array({x!r}), "E8").tolist())
try:
    closest_point(array_api_strict.asarray({x!r}), "E8")
except TypeError as error:
    print(error)
"""
    # from outside the repository: ``-c`` puts the working directory first on the path, and the
    # repository's quantmm/ folder is not the installed package
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    points, message = done.stdout.splitlines()
    assert json.loads(points) == closest_point(np.array(x), "E8").tolist()
    assert "x has type array_api_strict." in message and "quantmm[array-api]" in message


# --- PyTorch and JAX, in their own interpreter ---------------------------------------------------

#: Loads fast/backend.py and fast/lattices.py (and, lazily, fast/compiled.py, cuda_kernels.py
#: and counter_random.py, which need only numpy) as the package ``fast_alone``, without quantmm
#: and so without mpmath, decodes every input of the .npz file argv[2] in library argv[1] and
#: saves the results (back in NumPy) to argv[3].
CHILD = """
import importlib.util, json, sys, types
import numpy as np
library, inputs, output, fast = sys.argv[1:5]
package = types.ModuleType("fast_alone")
package.__path__ = [fast]
sys.modules["fast_alone"] = package
for module_name in ("backend", "lattices"):
    spec = importlib.util.spec_from_file_location(
        f"fast_alone.{module_name}", f"{fast}/{module_name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
closest_point = sys.modules["fast_alone.lattices"].closest_point
if library == "torch":
    import torch
    to_library, to_numpy = torch.from_numpy, lambda t: t.numpy()
else:
    import jax
    jax.config.update("jax_enable_x64", True)  # float64 arrays stay float64
    import jax.numpy as jnp
    to_library, to_numpy = jnp.asarray, np.asarray
results, kinds = {}, set()
with np.load(inputs) as arrays:
    for key in arrays.files:
        x = to_library(arrays[key])
        point = closest_point(x, key.split(" ")[0])
        assert point.dtype == x.dtype and tuple(point.shape) == tuple(x.shape), key
        kinds.add(type(point).__module__.split(".")[0])
        results[key] = to_numpy(point)
np.savez(output, **results)
print(json.dumps({"kinds": sorted(kinds), "mpmath": "mpmath" in sys.modules}))
"""


def array_python(module: str) -> str:
    """QUANTMM_ARRAY_PYTHON, which must import ``module`` (CI asked for it); skip if unset."""
    python = os.environ.get(VARIABLE)
    if not python:
        pytest.skip(
            f"{VARIABLE} is not set: name an interpreter with numpy and {module} to decode "
            f"{module} arrays (quantmm's environment cannot hold torch: sympy pins mpmath < 1.4)"
        )
    found = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True)
    assert found.returncode == 0, f"{VARIABLE}={python} cannot import {module}: {found.stderr}"
    return python


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_torch_and_jax_equal_numpy_bit_for_bit(library, tmp_path):
    """closest_point of torch tensors (CPU) and JAX arrays, in QUANTMM_ARRAY_PYTHON, returns
    arrays of that library with the bytes of closest_point of the same NumPy array here, on every
    input of inputs_for (joined into one array per lattice, dimension and dtype), every lattice,
    float32 and float64. The expected values come from the NumPy path, which is itself checked
    against brute force in tests/test_fast_lattices.py.

    One exception, JAX's own arithmetic: XLA's CPU backend treats subnormals as zero (in JAX
    5e-324 > 0 is False), so it decodes a different input, and E8's (−tiny, ½, …, ½) comes back
    as 0 instead of the closest point ½·1; JAX is not given the tiny and subnormal inputs. If the
    interpreter lacks array-api-compat, this environment's copy (pure Python) is put on its
    path."""
    python = array_python(library)
    inputs, expected = {}, {}
    for name, d in CASES:
        for dtype in DTYPES:
            found = inputs_for(name, d, dtype)
            if library == "jax":
                del found["tiny and subnormal"]
            x = np.concatenate(list(found.values()))
            key = f"{name} {d} {dtype.__name__}"
            inputs[key], expected[key] = x, closest_point(x, name)
    np.savez(tmp_path / "inputs.npz", **inputs)
    environment = dict(os.environ)
    has_compat = subprocess.run([python, "-c", "import array_api_compat"], capture_output=True)
    if has_compat.returncode != 0:
        (tmp_path / "compat").mkdir()
        (tmp_path / "compat" / "array_api_compat").symlink_to(Path(compat.__file__).parent)
        environment["PYTHONPATH"] = str(tmp_path / "compat")
    arguments = [library, tmp_path / "inputs.npz", tmp_path / "out.npz", ROOT / "fast"]
    done = subprocess.run(
        [python, "-c", CHILD, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    (kind,) = report["kinds"]  # one library for every result: torch, or jax (jaxlib)
    assert kind.startswith(library) and report["mpmath"] is False
    with np.load(tmp_path / "out.npz") as got:
        assert sorted(got.files) == sorted(expected)
        differ = [
            key
            for key, value in expected.items()
            if got[key].dtype != value.dtype or got[key].tobytes() != value.tobytes()
        ]
        assert not differ, differ
