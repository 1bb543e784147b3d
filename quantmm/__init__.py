"""quantmm: the numerical reference for quantized matrix multiplication.

The front door re-exports the certified mpmath reference (:mod:`quantmm.reference`, every name in
its ``__all__``) and the kernel protocol (:class:`~quantmm.protocol.MatmulQuantizer`,
:func:`~quantmm.protocol.bits_per_entry`); the vectorized kernels are in :mod:`quantmm.fast`; the
command line lives in :mod:`quantmm.cli` (``quantmm`` or ``python -m quantmm``).

>>> import quantmm
>>> quantmm.to_decimal(quantmm.gamma(1, digits=4), 4)
'0.4375'

Every value a reference function returns is a :class:`~quantmm.reference.precision.CertifiedValue`:
an mpf that prints the digits it was certified to.

>>> print(quantmm.gamma(0.5, digits=20))
0.71770584493163255336
"""

from quantmm import reference
from quantmm._version import __version__
from quantmm.protocol import MatmulQuantizer, bits_per_entry
from quantmm.reference import *  # noqa: F403  (the reference's __all__ is the public API)

__all__ = ["MatmulQuantizer", "__version__", "bits_per_entry", *reference.__all__]
