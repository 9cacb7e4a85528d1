"""Stage pretrained backbone weights as explicit files (docs/experiments.md#pretrained-weights), so training never
downloads anything.

timm networks: `timm.create_model(name, pretrained=True)` fetches the weights where the network allows; torchvision
networks (the original's): `torchvision.models.get_weight("<Builder>_Weights.IMAGENET1K_V1")` does. `from_file`
converts a checkpoint obtained some other way (a mirror, a colleague's copy). Either way the state dict is loaded
into the architecture first, so a staged file is known to fit, and saved with its sha256 beside it: as safetensors
for timm, as the torchvision state dict (`<builder>.pth`) for torchvision.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ConfigError, DownloadError
from ..io import atomic_path, atomic_torch_save, atomic_write_text
from ..provenance import file_sha256
from .network import TIMM, TORCHVISION, WEIGHT_SUFFIXES, Network, stage_command

TORCHVISION_WEIGHTS = "IMAGENET1K_V1"  # the weights the original loaded (`weights='IMAGENET1K_V1'`)


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


def _download_error(network: Network, out: Path, exc: Exception) -> DownloadError:
    return DownloadError(
        f"{out}: could not download {network.name} weights ({type(exc).__name__}); run `{stage_command(network, out)}`"
        " where the network allows, or pass --from-file a local checkpoint"
    )


def _fitted(model: torch.nn.Module, state: dict[str, torch.Tensor], source: object, name: str) -> torch.nn.Module:
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # missing, unexpected or mis-shaped keys
        raise ConfigError(f"{source}: does not fit {name} ({str(exc).splitlines()[0]})") from None
    return model


def _timm_model(name: str, out: Path, from_file: Path | None) -> torch.nn.Module:
    import timm

    if from_file is not None:
        return _fitted(timm.create_model(name, pretrained=False), _load_state(from_file), from_file, name)
    try:
        return timm.create_model(name, pretrained=True)
    except RuntimeError as exc:  # an unknown name, or hub weights that do not fit
        raise ConfigError(f"{name}: cannot build it with its weights ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # network and hub errors come in many types; all mean "could not fetch"
        raise _download_error(Network(TIMM, name), out, exc) from None


def _torchvision_model(builder: str, out: Path, from_file: Path | None) -> torch.nn.Module:
    from torchvision import models

    from .torchvision_models import family_of

    family_of(builder)  # a builder whose network ctcbench can adapt
    model = models.get_model(builder, weights=None)
    if from_file is not None:
        return _fitted(model, _load_state(from_file), from_file, builder)
    try:
        weights = models.get_weight(f"{models.get_model_weights(builder).__name__}.{TORCHVISION_WEIGHTS}")
        state = weights.get_state_dict(progress=False, check_hash=True)
    except Exception as exc:  # as above: every failure to fetch
        raise _download_error(Network(TORCHVISION, builder), out, exc) from None
    return _fitted(model, state, builder, builder)


def stage_weights(name: str, out: Path | str, from_file: Path | str | None = None, library: str = TIMM) -> str:
    """Write `out` with the ImageNet weights of the `library` network `name`; returns its sha256."""
    out = Path(out)
    expected = WEIGHT_SUFFIXES[library][0]
    if out.suffix != expected:
        raise ConfigError(f"{out}: {library} weights are staged as {expected} files; name it {name}{expected}")
    source = None if from_file is None else Path(from_file)
    model = (_torchvision_model if library == TORCHVISION else _timm_model)(name, out, source)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    if library == TORCHVISION:
        atomic_torch_save(out, state)
    else:
        from safetensors.torch import save_file

        with atomic_path(out) as tmp:
            save_file(state, str(tmp), metadata={"timm_name": name})
    digest = file_sha256(out)
    atomic_write_text(out.with_name(out.name + ".sha256"), f"{digest}  {out.name}\n")
    return digest
