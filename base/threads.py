"""How many threads numpy's BLAS may use in a process.

Our matrix products are small (a question against a few thousand vectors), so more BLAS threads do not
make them faster; OpenBLAS's idle threads spin after each product, though, and that doubled the CPU a
question took in `cchc serve`, time other officials' questions were waiting for.
"""

from __future__ import annotations

import os


def blas_on_one_thread() -> None:
    """Keep numpy's OpenBLAS on one thread; call before numpy is imported (it reads this at import).
    An OPENBLAS_NUM_THREADS already set by the operator wins."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
