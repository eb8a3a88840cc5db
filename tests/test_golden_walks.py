"""The env's numbers, frozen: per-step digests of seeded walks, recorded once and kept as data.

Every case walks ResidualWalkEnv for 400 seeded random-action steps, with resets after a fall
and every 150 steps, and digests each step's observation, reward, termination, info and qpos.
``tests/golden/walks.json`` holds the digests recorded from the env as it was when they were
taken; a change that moves any number of any case by one bit fails here, naming the case, the
first step and the part that differ. (These cases replaced the frozen copy of the per-robot env
that the batched core was first checked against; a batch row against N = 1 is checked in
tests/test_batched_vec_env.py.)

To re-record after a change meant to move numbers (say why in the commit):
``RECORD_GOLDEN=1 python -m pytest tests/test_golden_walks.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from envs.config import EnvConfig
from envs.residual_walk_env import ResidualWalkEnv
from tests.conftest import REPO
from tests.walk_cases import CASES
from walklab.curriculum import TerrainCurriculum, write_level_terrains

GOLDEN = REPO / "tests/golden/walks.json"
STEPS = 400
PARTS = ("observation", "reward", "ended", "info", "qpos")


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a if isinstance(a, bytes) else np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def _info_bytes(info: dict, keys: set[str] | None) -> bytes:
    """The info's entries named in `keys` (all when None), floats by repr (exact), numpy scalars as
    Python numbers. Entries added later (a new reward term's ``reward_<term>``) are not in the
    recorded keys and leave the digest as it was; a recorded entry that changes or goes does not."""

    def plain(v):
        return v.item() if isinstance(v, np.generic) else repr(v)

    kept = info if keys is None else {k: v for k, v in info.items() if k in keys}
    return json.dumps(kept, sort_keys=True, default=plain).encode()


def walk(config: EnvConfig, tmp_path, keys: set[str] | None = None, seed: int = 0) -> tuple[list[str], set[str]]:
    """The digests of every reset and step of one seeded walk, one string per record (PARTS in order),
    and every info key seen; `keys`: the info entries to digest (all when None)."""
    env = ResidualWalkEnv(config)
    if config.curriculum:
        write_level_terrains(tmp_path, 3)
        env.set_terrain_schedule(TerrainCurriculum(tmp_path, 3, 0.3, 0.1, seed=5))
    rng = np.random.default_rng(seed)
    seen: set[str] = set()

    def record(obs, reward, terminated, truncated, info):
        seen.update(info)
        ended = f"{int(bool(terminated))}{int(bool(truncated))}"
        parts = (np.asarray(obs, dtype=np.float32), np.float64(reward), ended, _info_bytes(info, keys), env.data.qpos)
        return " ".join(p if isinstance(p, str) else _digest(p) for p in parts)

    obs, info = env.reset(seed=seed)
    out = [record(obs, 0.0, False, False, info)]
    for k in range(STEPS):
        action = rng.uniform(-1.0, 1.0, env.n_actions).astype(np.float32)
        result = env.step(action)
        out.append(record(*result))
        if result[2] or k % 150 == 149:  # a fall, or a cut: resets are part of the walk
            obs, info = env.reset()
            out.append(record(obs, 0.0, False, False, info))
    env.close()
    return out, seen


def test_record_or_compare_is_explicit():
    assert GOLDEN.is_file() or os.environ.get("RECORD_GOLDEN"), f"{GOLDEN} is missing: record it (see the docstring)"


@pytest.mark.parametrize("case", list(CASES))
def test_walk_matches_its_golden_digests(case, tmp_path):
    if os.environ.get("RECORD_GOLDEN"):
        steps, seen = walk(CASES[case], tmp_path)
        record = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {"cases": {}, "info_keys": {}}
        record["recorded_on"] = f"{platform.machine()}, numpy {np.__version__}"
        record["cases"][case] = steps
        record["info_keys"][case] = sorted(seen)
        GOLDEN.parent.mkdir(exist_ok=True)
        tmp = GOLDEN.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        tmp.replace(GOLDEN)
        pytest.skip(f"recorded {case}")
    recorded = json.loads(GOLDEN.read_text())
    golden = recorded["cases"][case]
    steps, _ = walk(CASES[case], tmp_path, keys=set(recorded["info_keys"][case]))
    assert len(steps) == len(golden), f"{case}: {len(steps)} records, golden has {len(golden)} (resets moved)"
    for k, (now, then) in enumerate(zip(steps, golden)):
        differ = [part for part, a, b in zip(PARTS, now.split(), then.split()) if a != b]
        assert not differ, f"{case}: record {k} differs first, in {', '.join(differ)}"


def test_walk_is_the_same_under_another_blas_kernel(tmp_path):
    """OpenBLAS picks its kernels by CPU: the AVX2 kernel forced in a subprocess (as on a machine
    without AVX-512) must walk the same bits as this process's own, so the digests hold on any x86."""
    code = (
        "import json, pathlib, sys; from tests.test_golden_walks import walk; from tests.walk_cases import CASES; "
        "print(json.dumps(walk(CASES['v2'], pathlib.Path(sys.argv[1]))[0]))"
    )
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell", "PYTHONPATH": str(REPO)}
    (tmp_path / "sub").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "sub")], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    here, _ = walk(CASES["v2"], tmp_path)
    assert json.loads(done.stdout.splitlines()[-1]) == here
