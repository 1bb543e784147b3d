"""quantmm.fast: vectorized NumPy/CuPy quantizers (THEORY.md §1.4, §2).

Not implemented yet: this package is reserved for issue #4 (fast path). It exists so the
distribution's layout (DEVELOPERS.md) is in place; importing it provides nothing.
"""
