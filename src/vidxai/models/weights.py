"""Getting weights: local state_dict files, and failing fast and clearly when offline."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vidxai.errors import InvalidInputError, WeightsUnavailableError, torch_file_problem

_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")


def network_available(host: str, timeout: float = 3.0) -> bool:
    """Whether ``host:443`` answers within ``timeout`` seconds.

    ``VIDXAI_OFFLINE=1`` forces False. Behind a proxy the answer is always True (the download
    itself will tell).
    """
    if os.environ.get("VIDXAI_OFFLINE", "").strip() not in ("", "0"):
        return False
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def how_to_supply(name: str, source: str) -> str:
    """The standard advice on supplying weights as a local file."""
    return (
        f"To use pretrained {name} weights on this machine: on a machine with internet access "
        f'run `python -c "import torch, vidxai; '
        f"m = vidxai.load_model('{name}', weights='DEFAULT'); "
        f"torch.save(m.module.state_dict(), '{name}.pt')\"` "
        f"(or download {source} yourself), copy the file here and pass weights='{name}.pt' "
        f"(CLI: --weights {name}.pt)."
    )


def _unwrap_checkpoint(state: Any) -> Any:
    if isinstance(state, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = state.get(key)
            if (
                isinstance(inner, Mapping)
                and inner
                and all(isinstance(v, Tensor) for v in inner.values())
            ):
                return inner
    return state


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read a ``state_dict`` saved with ``torch.save(model.state_dict(), path)``.

    Also accepts a checkpoint dict holding it under ``"state_dict"``/``"model"``, and strips a
    leading ``"module."`` (state dicts of a :class:`VideoClassifier` or ``DataParallel``).

    Raises:
        WeightsUnavailableError: the file is missing or unreadable.
        InvalidInputError: the file does not hold a dict of tensors.
    """
    p = Path(path)
    if not p.is_file():
        raise WeightsUnavailableError(
            f"Weights file not found: {p}. Pass the path of a state_dict saved with "
            "torch.save(model.state_dict(), path), or weights='DEFAULT' to download."
        )
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, foreign or pickled-object files
        raise WeightsUnavailableError(
            f"Cannot read weights file {p}: {torch_file_problem(p, exc)}. It must be a "
            "state_dict saved with torch.save(model.state_dict(), path)."
        ) from exc
    state = _unwrap_checkpoint(state)
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()
    ):
        raise InvalidInputError(
            f"{p} does not hold a state_dict (a dict of parameter name → tensor)"
        )
    keys = list(state)
    if keys and all(k.startswith("module.") for k in keys):
        return {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … ({len(names)} in all)" if len(names) > limit else "")


def apply_state_dict(
    module: nn.Module, state: dict[str, Tensor], source: object, name: str
) -> None:
    """Load ``state`` (read from ``source``) into ``module`` strictly.

    Raises:
        InvalidInputError: keys or shapes do not match, naming the missing, unexpected and
            mismatched entries.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k} (file {tuple(state[k].shape)}, model {tuple(own[k].shape)})"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys: {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_listing(unexpected)}")
        if mismatched:
            parts.append(f"shape mismatches: {_listing(mismatched, 4)}")
        raise InvalidInputError(
            f"The weights in {source} do not fit model {name!r}: "
            + "; ".join(parts)
            + ". Check the model name, num_classes and the model's size options."
        )
    module.load_state_dict(state, strict=True)


def load_state_dict_file(module: nn.Module, path: str | os.PathLike[str], name: str) -> None:
    """Read a local state_dict file and load it into ``module`` strictly (see above)."""
    apply_state_dict(module, read_state_dict(path), path, name)
