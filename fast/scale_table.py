"""The stored tuned scale lists, loaded from ``fast/data/tuned_betas.json`` (package data).

The file is written by ``python -m quantmm.fast.scale_lists fast/data/tuned_betas.json``: each
entry is tune_betas(lattice, q, k) with the block count and seed the file names (2^14, 0), its
floats stored exactly; its format is :func:`quantmm.fast.scale_lists.format_table`. Do not edit
the file by hand.

>>> TABLE.rule, TABLE.blocks, TABLE.seed, len(TUNED_BETAS)
('first_fit', 16384, 0, 124)
"""

from __future__ import annotations

from .scale_lists import load_table

#: The installed table, and its lists keyed by (lattice, q, k).
TABLE = load_table()
TUNED_BETAS: dict[tuple[str, int, int], tuple[float, ...]] = TABLE.betas
