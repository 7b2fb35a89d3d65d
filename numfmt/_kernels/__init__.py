"""Numba kernels: the only package of numfmt that imports numba.

Every kernel is pure: formats arrive as named tuples of ints (`params.py`), random
bits as arguments, results as return values. Nothing is compiled at import.
"""
