#!/usr/bin/env python3
"""Export a trained residual policy (SB3 model + VecNormalize statistics) to one TorchScript file.

    python3 scripts/export_policy.py assets/policies/residual_walk/final_model.zip --out policy.pt

The file maps raw float32 observations (N, obs_dim) to deterministic actions (N, 12);
load it with torch.jit.load, no SB3 needed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from walklab.cli import OneLineErrorParser, fail, output_or_fail, positive_int  # noqa: E402


def main(argv=None) -> None:
    p = OneLineErrorParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path, help="trained model .zip (its run's config.json must be beside it or above)")
    p.add_argument("--normalize", type=Path, default=None,
                   help="VecNormalize statistics .pkl (default: the one saved beside the model)")
    p.add_argument("--out", type=Path, required=True, help="TorchScript file to write (e.g. policy.pt)")
    p.add_argument("--check-steps", type=positive_int, default=200,
                   help="observations from a seeded rollout to compare the export against the SB3 model on")
    args = p.parse_args(argv)
    output_or_fail(args.out, "file", "--out")  # before loading anything

    import torch

    from walklab.export import export_torchscript, max_difference, sample_observations
    from walklab.runs import RunError, open_policy

    try:
        out = export_torchscript(args.model, args.normalize, args.out)
        _, env, loaded = open_policy(args.model, args.normalize)
    except RunError as exc:
        fail(str(exc))
    module = torch.jit.load(str(out))
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB): {module.obs_dim} observations -> "
          f"{module.action_dim} actions in [{module.action_low.min().item():g}, {module.action_high.max().item():g}]")
    observations = sample_observations(env, loaded, args.check_steps, seed=0)
    env.close()
    print(f"check: max |difference| vs SB3 on {len(observations)} observations = "
          f"{max_difference(module, loaded, observations):.2e}")


if __name__ == "__main__":
    main()
