#!/usr/bin/env bash
# Install everything the test suite needs, then lint and run every test: the README's test command,
# and exactly what CI runs (.ci/run calls this script).
#   - Debian's xvfb and xdotool: tests/test_viewer.py opens the real viewer on a virtual X display
#     and types into it; Debian's postgresql: tests/test_sweep.py starts a throw-away server.
#     They are installed when missing, as root or through sudo; without either the viewer's
#     window tests and the PostgreSQL sweep test skip, each saying why.
#   - the virtualenv .venv with the project and its test tools (scripts/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export MUJOCO_GL=${MUJOCO_GL:-egl}
missing=()
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v xdotool >/dev/null 2>&1 || missing+=(xdotool)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO=none; fi
    if [ "$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "note: cannot install ${missing[*]} (needs apt-get as root or sudo); the tests that need them skip" >&2
    else
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi
bash scripts/install.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
