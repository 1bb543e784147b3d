"""quantmm: the numerical reference for quantized matrix multiplication.

The front door re-exports the certified mpmath reference (:mod:`quantmm.reference`, every name in
its ``__all__``); the command line lives in :mod:`quantmm.cli` (``quantmm`` or
``python -m quantmm``).

>>> import quantmm
>>> quantmm.to_decimal(quantmm.gamma(1, digits=4), 4)
'0.4375'
"""

from quantmm import reference
from quantmm._version import __version__
from quantmm.reference import *  # noqa: F403  (the reference's __all__ is the public API)

__all__ = ["__version__", *reference.__all__]
