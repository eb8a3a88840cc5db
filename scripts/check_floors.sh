#!/usr/bin/env bash
# Install every dependency at the floor pyproject.toml declares (torch at the CPU build
# scripts/install.sh uses), into a scratch virtualenv, and run the tests that touch each of them.
#   bash scripts/check_floors.sh [VENV_DIR]      (default /tmp/residual-walk-floors; a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-/tmp/residual-walk-floors}
shift || true
PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
# every ">=X" of the project's dependencies becomes "==X" (torch keeps the build above)
"$VENV/bin/python" - > "$VENV/floors.txt" <<'PY'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for req in project["dependencies"]:
    name, floor = re.match(r"\s*([A-Za-z0-9_.\-]+).*?>=\s*([0-9][0-9A-Za-z.]*)", req).groups()
    if name != "torch":
        print(f"{name}=={floor}")
PY
echo "floors: $(tr '\n' ' ' < "$VENV/floors.txt")"
"$VENV/bin/python" -m pip install --quiet -c "$VENV/floors.txt" -e ".[test]"
MUJOCO_GL=${MUJOCO_GL:-egl} "$VENV/bin/python" -m pytest -p no:cacheprovider \
    tests/test_dependencies.py tests/test_env.py tests/test_golden_walks.py tests/test_batched_vec_env.py \
    tests/test_gym_vector_env.py tests/test_vecenv.py tests/test_training.py tests/test_export.py \
    tests/test_damaged_monitors.py tests/test_config.py "$@"
