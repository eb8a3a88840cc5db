"""Every flag of every script, fuzzed: a refusal is one line and exit 2, nothing else is a traceback.

The scripts are found by themselves: every Python file of the repository that runs as a program
(``if __name__ == "__main__":``) outside ``bench/`` (developer benchmarks) and ``tests/test_*``.
Each exposes ``build_parser()`` (its flags), ``parse_args(argv)`` (every rule checked, single and
across flags, nothing created) and ``SMOKE_ARGS`` (its cheapest complete run). A new script or flag
is covered without touching this file.

For each flag (and positional) the suite tries NaN, plus and minus infinity, 0, a negative, a very
large number, empty and non-numeric text; a path gets a missing path, a read-only place and a
folder where a file is expected. Each case starts from the script's SMOKE_ARGS and runs in
process through ``parse_args``, with a time limit; it must end as

- exit 2 with exactly one ``error: ...`` line on stderr and nothing created, or
- accepted (``parse_args`` returns) or exit 0 (``--help``).

A sample of accepted cases, drawn by Hypothesis (derandomized: the same sample every run), runs
as real processes on SMOKE_ARGS' tiny budgets: exit 0, 1 or 2 (one line), never a traceback or a
hang, and no temporary file left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO

MOVED = {"envs/terrain.py"}  # only says where terrain generation went (python -m walklab.terrains)
NUMBERS = ["nan", "inf", "-inf", "0", "-1", "1e300", "-1e300", "", "abc", "1.5"]
TEXTS = ["", "abc", "a b", "../x", "-"]
PARSE_SECONDS = 20  # time limit of one in-process case
RUN_SECONDS = 240  # time limit of one real process


# ----------------------------------------------------------------------------- finding the scripts
def script_paths() -> list[str]:
    out = []
    for path in sorted(REPO.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        top = rel.split("/")[0]
        if top in (".venv", "runs", "bench", "build") or rel.startswith("tests/test_") or rel in MOVED:
            continue
        if not re.search(r'^if __name__ == "__main__":', path.read_text(), re.M):
            continue
        out.append(rel)
    return out


SCRIPTS = script_paths()


@cache
def module_of(rel: str):
    """The script imported as a module (package modules by name; files at the root or in
    phases_test/, scripts/ and tests/ by path)."""
    if (REPO / rel).parent.joinpath("__init__.py").is_file() and not rel.startswith("tests/"):
        return importlib.import_module(rel[:-3].replace("/", "."))
    spec = importlib.util.spec_from_file_location("fuzzed_" + re.sub(r"\W", "_", rel[:-3]), REPO / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_of(rel: str) -> list[str]:
    if (REPO / rel).parent.joinpath("__init__.py").is_file() and not rel.startswith("tests/"):
        return [sys.executable, "-m", rel[:-3].replace("/", ".")]
    return [sys.executable, rel]


def smoke_args(rel: str, tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in module_of(rel).SMOKE_ARGS]


def actions(rel: str) -> list[argparse.Action]:
    parser = module_of(rel).build_parser()
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def fuzz_values(action: argparse.Action, tmp: Path) -> list[str | None]:
    """The values tried for one flag (None: the flag alone, for switches)."""
    if action.nargs == 0:
        return [None]
    if action.choices is not None:
        return ["", "no-such-choice", "0"]
    rule = getattr(action.type, "rule", None)
    if rule is not None and "kind" in rule:
        return NUMBERS
    if rule is not None or action.type is Path:
        suffix = (rule or {}).get("suffixes") or (".x",)
        values = [
            str(tmp / "missing" / f"nothing{suffix[0]}"),
            str(tmp),  # a folder where a file is expected
            f"/proc/fuzz{suffix[0]}",  # a place nobody may write, root included
            "",
        ]
        if (rule or {}).get("path") == "input file":  # files that exist but are not what the flag reads
            text, empty = f"text{suffix[0]}", f"empty{suffix[0]}"
            values += [garbage_file(tmp, text, b"not what it says\n"), garbage_file(tmp, empty)]
        return values
    if action.type in (int, float):
        return NUMBERS
    return TEXTS


def garbage_file(folder: Path, name: str, content: bytes = b"") -> str:
    """A file named like the input it stands for, holding `content`: made once, before the case runs."""
    path = folder / "inputs" / name
    if folder != Path("/tmp") and not path.exists():  # cases() only counts the values
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return str(path)


def replace_arg(base: list[str], action: argparse.Action, value: str | None, rel: str) -> list[str]:
    """SMOKE_ARGS with `action` set to `value` (a positional replaced in place, a flag appended)."""
    if action.option_strings:
        flag = action.option_strings[0]
        return [*base, flag] if value is None else [*base, flag, value]
    positionals = [a.dest for a in actions(rel) if not a.option_strings]
    index = positionals.index(action.dest)
    out = list(base)
    out[index] = value if value is not None else ""
    return out


def cases():
    for rel in SCRIPTS:
        for action in actions(rel):
            if action.help == argparse.SUPPRESS:
                continue
            name = action.option_strings[0] if action.option_strings else action.dest
            for index in range(len(fuzz_values(action, Path("/tmp")))):
                yield pytest.param(rel, action.dest, index, id=f"{rel}:{name}:{index}")


# ----------------------------------------------------------------------------- one in-process case
class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    def expired(signum, frame):
        raise CaseTimeout(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")} if folder.exists() else set()


def top_level(folder: Path) -> set[str]:
    """The names in `folder` (runs/ holds long runs' folders that grow while the suite runs)."""
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def parse_in_process(rel: str, argv: list[str], capsys, tmp: Path) -> tuple[str, str]:
    """('accepted' | 'refused' | 'exit0', stderr) of module.parse_args(argv), run from the repository
    root; fails the test on a traceback, a hang, a refusal that is not one line or that created files."""
    before_tmp, before_runs = tree(tmp), top_level(REPO / "runs")
    cwd = os.getcwd()
    os.chdir(REPO)
    capsys.readouterr()
    try:
        with time_limit(PARSE_SECONDS):
            module_of(rel).parse_args(argv)
        outcome = "accepted"
    except SystemExit as exc:
        outcome = {0: "exit0", 2: "refused"}.get(exc.code, f"exit {exc.code}")
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert outcome in ("accepted", "exit0", "refused"), f"{rel} {argv}: {outcome}\n{err}"
    if outcome == "refused":
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{rel} {argv}: not one line:\n{err}"
        assert tree(tmp) == before_tmp, f"{rel} {argv}: a refusal created {tree(tmp) - before_tmp}"
        assert top_level(REPO / "runs") <= before_runs | {"logs"}, f"{rel} {argv}: a refusal wrote into runs/"
    return outcome, err


# ----------------------------------------------------------------------------- the tests
def test_every_script_exposes_its_parser_its_checks_and_a_smoke_run():
    assert len(SCRIPTS) >= 15, SCRIPTS
    for rel in SCRIPTS:
        module = module_of(rel)
        missing = [n for n in ("build_parser", "parse_args", "SMOKE_ARGS") if not hasattr(module, n)]
        assert not missing, f"{rel} lacks {', '.join(missing)}"


@pytest.mark.parametrize("rel", SCRIPTS)
def test_smoke_args_are_accepted(rel, capsys, tmp_path):
    outcome, err = parse_in_process(rel, smoke_args(rel, tmp_path), capsys, tmp_path)
    assert outcome == "accepted", err


@pytest.mark.parametrize(("rel", "dest", "index"), list(cases()))
def test_fuzzed_flag_is_refused_in_one_line_or_accepted(rel, dest, index, capsys, tmp_path):
    action = next(a for a in actions(rel) if a.dest == dest)
    value = fuzz_values(action, tmp_path)[index]
    parse_in_process(rel, replace_arg(smoke_args(rel, tmp_path), action, value, rel), capsys, tmp_path)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_combinations_of_flags_in_process(data, capsys, tmp_path):
    rel = data.draw(st.sampled_from(SCRIPTS), label="script")
    argv = smoke_args(rel, tmp_path)
    chosen = [a for a in actions(rel) if a.help != argparse.SUPPRESS]
    for action in data.draw(st.lists(st.sampled_from(chosen), min_size=1, max_size=3), label="flags"):
        text = None
        if action.nargs != 0:
            text = data.draw(
                st.one_of(
                    st.sampled_from(fuzz_values(action, tmp_path)),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.integers(min_value=-(10**30), max_value=10**30).map(str),
                    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
                ),
                label=action.option_strings[0] if action.option_strings else action.dest,
            )
        argv = replace_arg(argv, action, text, rel)
    parse_in_process(rel, argv, capsys, tmp_path)


def accepted_cases(tmp: Path) -> list[tuple[str, list[str]]]:
    """Every single-flag case parse_args accepts (counted in process, without capsys)."""
    out = []
    for rel in SCRIPTS:
        for action in actions(rel):
            if action.help == argparse.SUPPRESS or not action.option_strings:
                continue
            for value in fuzz_values(action, tmp):
                argv = replace_arg(smoke_args(rel, tmp), action, value, rel)
                cwd = os.getcwd()
                os.chdir(REPO)
                try:
                    with contextlib.redirect_stderr(open(os.devnull, "w")), time_limit(PARSE_SECONDS):
                        module_of(rel).parse_args(argv)
                    out.append((rel, argv))
                except SystemExit:
                    pass
                finally:
                    os.chdir(cwd)
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_runs")


@pytest.fixture(scope="module")
def accepted(scratch):
    return accepted_cases(scratch)


@settings(max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_accepted_values_run_as_real_processes(data, accepted, scratch):
    rel, argv = data.draw(st.sampled_from(accepted), label="case")
    proc = subprocess.run(
        [*command_of(rel), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        env={**{k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}, "MUJOCO_GL": "egl"},
    )
    shown = f"{rel} {' '.join(argv)}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, shown
    assert proc.returncode in (0, 1, 2), shown
    if proc.returncode == 2:
        assert len(proc.stderr.strip().splitlines()) == 1, shown
    leftovers = [p for p in scratch.rglob(".*.tmp*")] + [p for p in (REPO / "runs").rglob(".*.tmp*")]
    assert not leftovers, f"{shown}\ntemporary files left: {leftovers}"
