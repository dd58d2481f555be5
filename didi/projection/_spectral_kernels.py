"""Compiled product of a CSR matrix and a vector over a range of rows, for
:mod:`~didi.projection._spectral` (imported at the first large spectral start).
"""

from __future__ import annotations

import numba

from .._numba import compiled


@compiled(nogil=True)
def csr_rows_product(indptr, indices, data, x, out, start, stop):
    """``out[i] = Σ data[j]·x[indices[j]]`` over row ``i``'s stored entries, for
    ``start ≤ i < stop``, summed from 0.0 in stored order: scipy's ``csr_matvec``,
    operation for operation, so the same bits."""
    for row in range(start, stop):
        total = 0.0
        # Unsigned positions: numba wraps negative signed indices around, a test per
        # access that made the loop a third slower than scipy's.
        for entry in range(numba.uint64(indptr[row]), numba.uint64(indptr[row + 1])):
            total += data[entry] * x[numba.uint64(indices[entry])]
        out[row] = total
