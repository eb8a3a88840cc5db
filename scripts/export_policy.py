#!/usr/bin/env python3
"""Export a trained residual policy (SB3 model + VecNormalize statistics) to one TorchScript or ONNX file.

    python3 scripts/export_policy.py assets/policies/residual_walk/final_model.zip --out policy.pt
    python3 scripts/export_policy.py assets/policies/residual_walk/final_model.zip --out policy.onnx

The file maps raw float32 observations (N, obs_dim) to deterministic actions (N, 12);
load it with torch.jit.load, or onnxruntime for .onnx (--format onnx, or an .onnx --out), no
SB3 needed. A policy trained with commands takes the command as a separate ONNX input
``command`` (N, 2), the observation's command entries (the metadata's ``command_slice``; walklab/export.py
says more).
The robot is the model's (its run's config.json; there is no --robot): the check walks the
policy's own env, and the file is for that robot's observations and 12 joint targets.
"""

from __future__ import annotations

import argparse

from walklab.cli import (
    OneLineErrorParser,
    fail,
    input_file,
    number,
    output_file,
    statistics_file,
)
from walklab.policy_inputs import policy_inputs_or_fail

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["assets/policies/residual_walk/final_model.zip", "--out", "{tmp}/policy.pt", "--check-steps", "5"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    p.add_argument(
        "model", type=input_file(".zip"), help="trained model .zip (its run's config.json must be beside it or above)"
    )
    p.add_argument(
        "--normalize",
        type=statistics_file,
        default=None,
        help="VecNormalize statistics .pkl (default: the one saved beside the model)",
    )
    p.add_argument("--out", type=output_file(), required=True, help="file to write (e.g. policy.pt, policy.onnx)")
    p.add_argument(
        "--format",
        choices=("torchscript", "onnx"),
        default=None,
        help="default: onnx for an .onnx --out, else torchscript",
    )
    p.add_argument(
        "--check-steps",
        type=number(int, low=1, high=100_000),
        default=200,
        help="observations from a seeded rollout to compare the export against the SB3 model on",
    )
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags (--out checked writable) and the policy's files, run and env (``args.policy``,
    ``args.env_config``), all before loading anything: one line and exit 2 otherwise."""
    args = build_parser().parse_args(argv)
    args.policy = policy_inputs_or_fail(args.model, args.normalize)
    args.env_config = args.policy.env_config
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if (args.format or ("onnx" if args.out.suffix.lower() == ".onnx" else "torchscript")) == "onnx":
        export_onnx_and_check(args)
        return

    import torch

    from walklab.export import export_torchscript, max_difference, sample_observations
    from walklab.policies import open_policy
    from walklab.runs import RunError

    try:
        out = export_torchscript(args.model, args.normalize, args.out)
        _, env, loaded = open_policy(args.model, args.normalize)
    except RunError as exc:
        fail(str(exc))
    module = torch.jit.load(str(out))
    print(
        f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB): {module.obs_dim} observations -> "
        f"{module.action_dim} actions in [{module.action_low.min().item():g}, {module.action_high.max().item():g}]"
    )
    observations = sample_observations(env, loaded, args.check_steps, seed=0)
    env.close()
    print(
        f"check: max |difference| vs SB3 on {len(observations)} observations = "
        f"{max_difference(module, loaded, observations):.2e}"
    )


def export_onnx_and_check(args) -> None:
    """ONNX export, then onnxruntime's actions against the SB3 model's on a seeded rollout."""
    import numpy as np
    import onnxruntime

    from walklab.export import command_slice, export_onnx, onnx_actions, sample_observations
    from walklab.policies import open_policy
    from walklab.runs import RunError

    try:
        out = export_onnx(args.model, args.normalize, args.out)
        _, env, loaded = open_policy(args.model, args.normalize)
    except RunError as exc:
        fail(str(exc))
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = ", ".join(f"{i.name} {i.shape}" for i in session.get_inputs())
    commands = command_slice(env)
    print(
        f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB): inputs {inputs} -> action "
        f"{session.get_outputs()[0].shape}"
        + ("" if commands is None else f"; command = observation[{commands.start}:{commands.stop}]")
    )
    observations = sample_observations(env, loaded, args.check_steps, seed=0)
    env.close()
    reference = np.stack([loaded.act(obs, deterministic=True) for obs in observations])
    difference = float(np.max(np.abs(onnx_actions(session, observations, commands) - reference)))
    print(f"check: max |difference| vs SB3 on {len(observations)} observations = {difference:.2e} (onnxruntime)")


if __name__ == "__main__":
    main()
