"""Vector envs for training: in-process, split over two processes, and batched on mujoco.batch."""
