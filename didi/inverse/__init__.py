"""Step 3: the inverse projection π⁻¹ from 2-D back to input space.

:class:`RBFInverse` is the paper's radial-basis network (section 4.2), fitted by
one exact regularised linear solve.
"""

from ._rbf_inverse import RBFInverse

__all__ = ["RBFInverse"]
