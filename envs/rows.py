"""The robot axis: per-robot values declared once (``RobotRows``), and row-wise arithmetic for N
robots that gives each robot's value bit for bit as the single-robot formula does (see
envs/walk_core.py's docstring)."""

from __future__ import annotations

import copy
from typing import Any

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
    """Row-wise dot products of (n, k) arrays, the k products summed left to right in plain float64
    arithmetic: the same bits for any n and on any machine. (A BLAS dot or matmul does not give that:
    OpenBLAS picks its kernel by CPU, and an AVX-512 kernel orders and fuses the terms differently
    from an AVX2 one; numpy's sum and einsum order them differently again.)"""
    products = np.asarray(a, dtype=np.float64) * b
    total = np.zeros(products.shape[0])
    for column in products.T:
        total += column
    return total


class RobotRows:
    """The per-robot values of N robots, each declared once where it is made: an (N, ...) array,
    one row per robot, or a list of N Python objects. ``take(i)`` copies robot i's values out and
    ``put(i, values)`` writes them back: a snapshot, a restore or a copy cannot forget one."""

    def __init__(self, n: int):
        self.n = n
        self._arrays: dict[str, np.ndarray] = {}
        self._lists: dict[str, list] = {}

    def array(self, name: str, width: int | None = None, dtype: Any = np.float64) -> np.ndarray:
        """A new (N,) array of zeros (or (N, width)), declared as `name`."""
        self._declare(name)
        rows = np.zeros((self.n,) if width is None else (self.n, width), dtype=dtype)
        self._arrays[name] = rows
        return rows

    def objects(self, name: str, fill: Any = None) -> list:
        """A new list of N `fill` values (one Python object per robot), declared as `name`."""
        self._declare(name)
        rows = [fill] * self.n
        self._lists[name] = rows
        return rows

    def declared(self) -> dict[str, np.ndarray | list]:
        """Every declared value by name: the (N, ...) arrays and the lists, as the owners hold them."""
        return {**self._arrays, **self._lists}

    def names(self) -> list[str]:
        return [*self._arrays, *self._lists]

    def _declare(self, name: str) -> None:
        if name in self._arrays or name in self._lists:
            raise ValueError(f"per-robot value {name!r} is declared twice")

    def take(self, i: int) -> dict[str, Any]:
        """Copies of robot i's values (deep copies of its objects: a random stream, a schedule)."""
        values = {name: rows[i].copy() for name, rows in self._arrays.items()}
        values.update({name: copy.deepcopy(rows[i]) for name, rows in self._lists.items()})
        return values

    def put(self, i: int, values: dict[str, Any]) -> None:
        """Write `values` (a ``take``) into robot i's rows, in place."""
        declared = set(self.names())
        if set(values) != declared:
            raise ValueError(f"a robot's values must name {sorted(declared)}, got {sorted(values)}")
        for name, rows in self._arrays.items():
            rows[i] = values[name]
        for name, rows in self._lists.items():
            rows[i] = copy.deepcopy(values[name])
