"""Run every docstring example of the installed package, and require one per public function."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import quantmm
import quantmm.conformance
import quantmm.experiments
import quantmm.fast
import quantmm.proofs
import quantmm.reference

PACKAGES = [
    quantmm,
    quantmm.reference,
    quantmm.fast,
    quantmm.conformance,
    quantmm.proofs,
    quantmm.experiments,
]


def _modules():
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.iter_modules(package.__path__, prefix=package.__name__ + "."):
            if info.name != "quantmm.__main__":
                names.append(info.name)
    return sorted(set(names))


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples_pass(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


@pytest.mark.parametrize("name", quantmm.reference.__all__)
def test_every_public_reference_function_has_an_example(name):
    member = getattr(quantmm.reference, name)
    if inspect.isfunction(member):
        assert member.__doc__ and ">>>" in member.__doc__, f"{name} has no docstring example"
        module = inspect.getmodule(member)
        if module is not quantmm.reference.precision:  # the mathematics, not the plumbing
            assert "theory.md" in (module.__doc__ or "") + member.__doc__, (
                f"{name} does not cite theory.md"
            )
