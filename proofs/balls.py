"""python-flint's arb ball arithmetic, for the certificates that intervals alone cannot do.

arb (python-flint, the optional ``quantmm[proofs]`` extra) encloses integrals rigorously
(``acb.integral``) and evaluates special functions such as Tricomi's U with proved error bounds.
:func:`require_arb` returns the module or raises
:class:`~quantmm.proofs.runner.ArbUnavailable`, which ``quantmm prove`` reports as a skipped
certificate, never a proved one. Convert a ball to an :mod:`mpmath.iv` interval with
:func:`quantmm.proofs.intervals.interval` to compare it with the "certainly" helpers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType

__all__ = ["arb_precision", "require_arb"]


def require_arb() -> ModuleType:
    """The ``flint`` module, or :class:`ArbUnavailable` if python-flint is not installed."""
    from .runner import ArbUnavailable

    try:
        import flint
    except ImportError as missing:
        raise ArbUnavailable(
            "this certificate needs python-flint (arb); install quantmm[proofs]"
        ) from missing
    return flint


@contextlib.contextmanager
def arb_precision(bits: int) -> Iterator[ModuleType]:
    """Run the block with arb at ``bits`` bits of precision; yields the ``flint`` module."""
    flint = require_arb()
    saved = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        yield flint
    finally:
        flint.ctx.prec = saved
