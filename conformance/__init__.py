"""quantmm.conformance: certify matmul-quantization kernels against the reference.

Not implemented yet: this package is reserved for issue #5 (conformance harness). It exists so the
distribution's layout (DEVELOPERS.md) is in place; importing it provides nothing.
"""
