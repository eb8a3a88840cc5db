"""Row-wise arithmetic for N robots that gives each robot's value bit for bit as the single-robot
formula does (see envs/walk_core.py's docstring)."""

from __future__ import annotations

import numpy as np


def libm(fn, *arrays: np.ndarray) -> np.ndarray:
    """`fn` (a ``math`` function) over the elements of equally shaped arrays, as float64."""
    shape = arrays[0].shape
    values = map(fn, *(a.ravel().tolist() for a in arrays))
    return np.fromiter(values, dtype=np.float64, count=arrays[0].size).reshape(shape)


def scatter(values: np.ndarray, mask: np.ndarray, fill: float) -> np.ndarray:
    """`values` of the robots in `mask`, spread over all robots with `fill` elsewhere."""
    out = np.full((len(mask), *values.shape[1:]), fill)
    out[mask] = values
    return out


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of (n, k) arrays, each as ``a[i].dot(b[i])`` sums it (stacked matmul
    runs the same kernel; numpy's sum and einsum order the terms differently)."""
    return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]
