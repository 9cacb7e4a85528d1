"""Stage pretrained backbone weights as explicit files (docs/experiments.md#pretrained-weights), so training never
downloads anything.

`timm.create_model(name, pretrained=True)` fetches the weights where the network allows; `from_file` converts a
checkpoint obtained some other way (a mirror, a colleague's copy). Either way the state dict is loaded into the
timm architecture first, so a staged file is known to fit, and saved as safetensors with its sha256 beside it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ConfigError, DownloadError
from ..io import atomic_path, atomic_write_text
from ..provenance import file_sha256


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ConfigError(f"{path}: checkpoint to stage is missing; check the --from-file path")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    data = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            return data[key]
    return data


def stage_weights(timm_name: str, out: Path | str, from_file: Path | str | None = None) -> str:
    """Write `out` (.safetensors) with the ImageNet weights of `timm_name`; returns its sha256."""
    import timm
    from safetensors.torch import save_file

    out = Path(out)
    try:
        if from_file is None:
            model = timm.create_model(timm_name, pretrained=True)
        else:
            model = timm.create_model(timm_name, pretrained=False)
            model.load_state_dict(_load_state(Path(from_file)))
    except RuntimeError as exc:  # covers state-dict mismatches
        raise ConfigError(f"{from_file or timm_name}: does not fit {timm_name} ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # network and hub errors come in many types; all mean "could not fetch"
        raise DownloadError(
            f"{out}: could not download {timm_name} weights ({type(exc).__name__}); run `ctcbench stage-weights "
            f"--model {timm_name} --out {out}` where the network allows, or pass --from-file a local checkpoint"
        ) from None
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(out) as tmp:
        save_file(state, str(tmp), metadata={"timm_name": timm_name})
    digest = file_sha256(out)
    atomic_write_text(out.with_name(out.name + ".sha256"), f"{digest}  {out.name}\n")
    return digest
