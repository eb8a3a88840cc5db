"""Input files' contents, checked while a script's flags are parsed: an SB3 model archive, VecNormalize
statistics. Cheap checks (no MuJoCo, torch or SB3: the file's structure, not its meaning), so a file
the user named that cannot be what it should is one line and exit 2 before any work; what only
loading can tell (a model's weights) is still checked where it loads."""

from __future__ import annotations

import json
import pickletools
import zipfile
from pathlib import Path


class InputFileError(ValueError):
    """An input file that is not what its flag needs; the message is one line."""


SB3_MODEL_MEMBERS = ("data", "policy.pth")  # what stable_baselines3's load reads first


def check_model_archive(path: str | Path) -> dict:
    """The `data` record of an SB3 model .zip: a zip whose members are intact (CRC), with SB3's
    `data` (JSON) and `policy.pth`; an InputFileError otherwise."""
    hint = "it is corrupt or not an SB3 PPO model: use another checkpoint"
    try:
        with zipfile.ZipFile(path) as archive:
            missing = [m for m in SB3_MODEL_MEMBERS if m not in archive.namelist()]
            if missing:
                raise InputFileError(f"cannot load model {path} (no {', '.join(missing)} inside); {hint}")
            damaged = archive.testzip()
            if damaged is not None:
                raise InputFileError(f"cannot load model {path} ({damaged} inside fails its CRC); {hint}")
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(f"cannot load model {path} ({type(exc).__name__}); {hint}") from None
    if not isinstance(data, dict) or not isinstance(data.get("observation_space"), dict):
        raise InputFileError(f"cannot load model {path} (its data record has no observation space); {hint}")
    return data


def model_observation_size(data: dict) -> int | None:
    """The observation size an SB3 model's `data` record declares (None when it does not say)."""
    shape = data["observation_space"].get("_shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
        return None
    size = 1
    for n in shape:
        size *= n
    return size


def check_statistics_file(path: str | Path) -> None:
    """A VecNormalize statistics .pkl: a complete pickle (read opcode by opcode, nothing executed)
    that names VecNormalize; an InputFileError otherwise."""
    hint = "give the vec_normalize.pkl saved with this model"
    try:
        raw = Path(path).read_bytes()
        names = [arg for op, arg, _ in pickletools.genops(raw) if isinstance(arg, str)]
    except OSError as exc:
        raise InputFileError(f"cannot read normalization file {path} ({exc.strerror or exc}); {hint}") from None
    except Exception as exc:  # pickletools: ValueError for a truncated or foreign stream, and others
        reason = type(exc).__name__
        raise InputFileError(
            f"cannot read normalization file {path} ({reason}: not a complete pickle); {hint}"
        ) from None
    if not any("VecNormalize" in name for name in names):
        raise InputFileError(f"normalization file {path} holds no VecNormalize statistics; {hint}")
