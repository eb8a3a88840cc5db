#!/usr/bin/env python3
"""Train a small PPO policy on gym.make_vec("ResidualWalk-v0") with Gymnasium, torch and numpy only (no SB3).

    python3 scripts/gymnasium_ppo.py --updates 10 --num-envs 4 --num-steps 256 [--save agent.pt]

A single-file, CleanRL-style PPO (clipped objective, GAE, value loss, entropy bonus) over the
Gymnasium vector env that ResidualWalk-v0 registers as its vector entry point
(``envs.vector_env.ResidualWalkVectorEnv``: ``--num-envs`` robots on one mujoco.batch, NEXT_STEP
autoreset) under Gymnasium's own vector wrappers: RecordEpisodeStatistics, ClipAction,
NormalizeObservation and NormalizeReward. With NEXT_STEP autoreset the step after an episode's
end only resets that robot: its transition is left out of the loss, and a time-limit cut
bootstraps from the value of the episode's last observation. Prints one line per update (steps/s,
episodes ended and their mean return, the losses). It shows the env used from plain Gymnasium;
the project's training is train_residual_ppo_v2.py (Stable-Baselines3). ``--robot`` (v2's flag)
picks the quadruped: another robot walks its own trot and physics steps, lengths scaled to it.

    python3 scripts/gymnasium_ppo.py --robot go1 --updates 10 --num-envs 4
"""

from __future__ import annotations

import argparse
import time

from walklab.cli import SEED, THREADS, OneLineErrorParser, number, output_file
from walklab.flags import add_env_setting_flags, env_settings_from_args

ENV_SETTINGS = ("robot",)  # the EnvConfig settings this script takes as flags (v2's own flags for them)

# torch, MuJoCo and the env are imported inside main(), after the flags are parsed: --help and a
# refused flag answer at once.

# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--updates", "1", "--num-envs", "2", "--num-steps", "16", "--episode-steps", "20",
    "--minibatches", "2", "--epochs", "1", "--threads", "1",
]  # fmt: skip

COUNT = number(int, low=1, high=100_000)
FRACTION = number(float, low=0.0, high=1.0)


def build_parser() -> OneLineErrorParser:
    from envs.config import EnvConfig  # settings only: no MuJoCo

    p = OneLineErrorParser.for_script(__doc__)
    p.add_argument("--updates", type=COUNT, default=10, help="PPO updates (rollout + optimisation) to run")
    p.add_argument("--num-envs", type=number(int, low=1, high=1024), default=4, help="robots in the batch")
    p.add_argument("--num-steps", type=COUNT, default=256, help="steps per robot per update (rollout length)")
    p.add_argument(
        "--episode-steps", type=COUNT, default=1000, help="time limit of an episode (max_episode_steps), steps"
    )
    p.add_argument("--epochs", type=number(int, low=1, high=100), default=4, help="passes over each rollout")
    p.add_argument(
        "--minibatches", type=number(int, low=1, high=4096), default=4, help="minibatches per pass over a rollout"
    )
    p.add_argument(
        "--learning-rate", type=number(float, low=0.0, high=1.0, low_open=True), default=3e-4, help="Adam's step"
    )
    p.add_argument("--gamma", type=FRACTION, default=0.99, help="discount factor")
    p.add_argument("--gae-lambda", type=FRACTION, default=0.95, help="GAE's lambda")
    p.add_argument("--clip", type=number(float, low=0.0, high=1.0, low_open=True), default=0.2, help="PPO's clip range")
    p.add_argument("--ent-coef", type=FRACTION, default=0.0, help="entropy bonus weight")
    p.add_argument("--vf-coef", type=number(float, low=0.0, high=10.0), default=0.5, help="value loss weight")
    p.add_argument("--max-grad-norm", type=number(float, low=0.0, high=100.0, low_open=True), default=0.5)
    p.add_argument("--hidden", type=number(int, low=1, high=1024), default=64, help="units per hidden layer")
    p.add_argument(
        "--preset",
        choices=("v2", "plain"),
        default="v2",
        help="env settings: v2 (the project's training env) or plain (EnvConfig's defaults)",
    )
    p.add_argument("--seed", type=SEED, default=0, help="seeds the env (robot i: seed + i), torch and numpy")
    p.add_argument("--threads", type=THREADS, default=None, help="physics threads of the batch (default: every CPU)")
    p.add_argument("--save", type=output_file(".pt"), default=None, help="write the trained agent here (.pt)")
    add_env_setting_flags(p, EnvConfig(), ENV_SETTINGS)
    return p


def parse_args(argv=None) -> argparse.Namespace:
    p = build_parser()
    args = p.parse_args(argv)
    if args.minibatches > args.num_envs * args.num_steps:
        p.error(
            f"--minibatches {args.minibatches} is more than the {args.num_envs * args.num_steps} samples of a "
            "rollout (--num-envs x --num-steps)"
        )
    args.env_config = env_config(args)
    return args


def env_config(args):
    """The env's settings: the preset's (v2: train_residual_ppo_v2.py's; plain: EnvConfig's defaults) on
    the robot --robot names; a refused robot is one line and exit 2."""
    from envs.config import EnvConfig
    from envs.fields import ConfigError
    from walklab.cli import fail
    from walklab.flags import label_for

    base = EnvConfig()
    if args.preset == "v2":
        from walklab.presets import V2  # settings only: no SB3

        base = V2.env
    try:
        return env_settings_from_args(base, args, ENV_SETTINGS)
    except ConfigError as exc:
        fail(exc.for_label(label_for(exc)))


def make_env(args):
    """The batched env under Gymnasium's vector wrappers (innermost first)."""
    import gymnasium as gym
    from gymnasium.wrappers import vector

    import envs  # registers ResidualWalk-v0

    config = getattr(args, "env_config", None) or env_config(args)
    vec = gym.make_vec(
        envs.ENV_ID,
        num_envs=args.num_envs,
        vectorization_mode="vector_entry_point",
        max_episode_steps=args.episode_steps,
        config=config,
        threads=args.threads,
    )
    vec = vector.RecordEpisodeStatistics(vec)  # raw returns, before NormalizeReward
    vec = vector.ClipAction(vec)
    vec = vector.NormalizeObservation(vec)
    return vector.NormalizeReward(vec, gamma=args.gamma)


def build_agent(obs_size: int, n_actions: int, hidden: int):
    import numpy as np
    import torch
    from torch import nn

    def layer(n_in, n_out, std=float(np.sqrt(2))):
        linear = nn.Linear(n_in, n_out)
        nn.init.orthogonal_(linear.weight, std)
        nn.init.constant_(linear.bias, 0.0)
        return linear

    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.critic = nn.Sequential(
                layer(obs_size, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(), layer(hidden, 1, std=1.0)
            )
            self.actor_mean = nn.Sequential(
                layer(obs_size, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(), layer(hidden, n_actions, 0.01)
            )
            self.actor_logstd = nn.Parameter(torch.full((1, n_actions), -1.0))

        def value(self, obs):
            return self.critic(obs).squeeze(-1)

        def act(self, obs, action=None):
            mean = self.actor_mean(obs)
            dist = torch.distributions.Normal(mean, self.actor_logstd.expand_as(mean).exp())
            if action is None:
                action = dist.sample()
            return action, dist.log_prob(action).sum(-1), dist.entropy().sum(-1), self.value(obs)

    return Agent()


def main(argv=None) -> None:
    args = parse_args(argv)

    import numpy as np
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # tiny networks: threads would only fight the physics for the CPUs
    env = make_env(args)
    n, steps = args.num_envs, args.num_steps
    obs_size, n_actions = env.single_observation_space.shape[0], env.single_action_space.shape[0]
    agent = build_agent(obs_size, n_actions, args.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    obs_buf = torch.zeros((steps, n, obs_size))
    act_buf = torch.zeros((steps, n, n_actions))
    logp_buf, rew_buf, val_buf = torch.zeros((steps, n)), torch.zeros((steps, n)), torch.zeros((steps, n))
    term_buf, done_buf, valid_buf = torch.zeros((steps, n)), torch.zeros((steps, n)), torch.zeros((steps, n))
    batch = n * steps
    minibatch = batch // args.minibatches

    obs, _ = env.reset(seed=args.seed)
    obs = torch.as_tensor(obs, dtype=torch.float32)
    resetting = np.zeros(n, dtype=bool)  # NEXT_STEP: these robots' next step only resets them
    for update in range(1, args.updates + 1):
        start = time.perf_counter()
        returns_ended: list[float] = []
        for t in range(steps):
            obs_buf[t] = obs
            valid_buf[t] = torch.as_tensor(~resetting, dtype=torch.float32)
            with torch.no_grad():
                action, logp, _, value = agent.act(obs)
            act_buf[t], logp_buf[t], val_buf[t] = action, logp, value
            obs, reward, terminated, truncated, infos = env.step(action.numpy())
            obs = torch.as_tensor(obs, dtype=torch.float32)
            rew_buf[t] = torch.as_tensor(reward, dtype=torch.float32)
            term_buf[t] = torch.as_tensor(terminated, dtype=torch.float32)
            resetting = terminated | truncated
            done_buf[t] = torch.as_tensor(resetting, dtype=torch.float32)
            if "episode" in infos:
                returns_ended += infos["episode"]["r"][infos["_episode"]].tolist()

        # GAE: a robot's episode ends at done (no advantage flows past it); a terminated one has no
        # future value, a cut one bootstraps from its last observation (what NEXT_STEP returns then)
        with torch.no_grad():
            next_value = agent.value(obs)
            advantages = torch.zeros((steps, n))
            last = torch.zeros(n)
            for t in reversed(range(steps)):
                following = next_value if t == steps - 1 else val_buf[t + 1]
                delta = rew_buf[t] + args.gamma * following * (1.0 - term_buf[t]) - val_buf[t]
                last = delta + args.gamma * args.gae_lambda * (1.0 - done_buf[t]) * last
                advantages[t] = last
            returns = advantages + val_buf

        flat = {
            "obs": obs_buf.reshape(batch, obs_size),
            "act": act_buf.reshape(batch, n_actions),
            "logp": logp_buf.reshape(batch),
            "adv": advantages.reshape(batch),
            "ret": returns.reshape(batch),
            "valid": valid_buf.reshape(batch),
        }
        order = np.arange(batch)
        figures = []
        for _ in range(args.epochs):
            np.random.default_rng(args.seed + update).shuffle(order)
            for begin in range(0, minibatch * args.minibatches, minibatch):
                idx = torch.as_tensor(order[begin : begin + minibatch])
                mask = flat["valid"][idx]
                weight = mask.sum().clamp(min=1.0)
                _, logp, entropy, value = agent.act(flat["obs"][idx], flat["act"][idx])
                ratio = (logp - flat["logp"][idx]).exp()
                adv, valid = flat["adv"][idx], mask > 0
                if valid.sum() > 1:  # normalised over the minibatch's real transitions
                    adv = (adv - adv[valid].mean()) / (adv[valid].std() + 1e-8)
                policy_loss = (
                    torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip, 1 + args.clip)) * mask
                ).sum() / weight
                value_loss = 0.5 * (((value - flat["ret"][idx]) ** 2) * mask).sum() / weight
                entropy_mean = (entropy * mask).sum() / weight
                loss = policy_loss + args.vf_coef * value_loss - args.ent_coef * entropy_mean
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
                figures.append((loss.item(), policy_loss.item(), value_loss.item(), entropy_mean.item()))
        seconds = time.perf_counter() - start
        loss, policy_loss, value_loss, entropy = np.mean(figures, axis=0)
        episodes = f"{len(returns_ended)} episodes ended" + (
            f", mean return {np.mean(returns_ended):.2f}" if returns_ended else ""
        )
        print(
            f"update {update}/{args.updates}: {batch} steps, {batch / seconds:.0f} steps/s, {episodes}; "
            f"loss {loss:.4f} (policy {policy_loss:.4f}, value {value_loss:.4f}), entropy {entropy:.3f}",
            flush=True,
        )
    env.close()
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        normalizer = env.env  # NormalizeObservation, under NormalizeReward
        torch.save(
            {
                "agent": agent.state_dict(),
                "obs_mean": normalizer.obs_rms.mean,
                "obs_var": normalizer.obs_rms.var,
                "hidden": args.hidden,
                "preset": args.preset,
                "env": env_config(args).to_dict(),  # the env it was trained on: its robot, trot, settings
            },
            args.save,
        )
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
