"""Load the models of an experiment: zoo names, or ``module: "pkg.mod:callable"``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from torch import nn

from vidxai.errors import InvalidInputError, VidxaiError
from vidxai.runner.schema import ModelSpec

if TYPE_CHECKING:
    from vidxai.models.adapter import VideoClassifier


def load_model_spec(spec: ModelSpec) -> VideoClassifier:
    """Build the model of one ``models:`` entry, in eval mode.

    * zoo name: ``vidxai.load_model(name, weights=weights, num_classes=..., **options)``;
    * ``module: "pkg.mod:build"``: ``build(**options)`` returns a :class:`vidxai.VideoClassifier`,
      or a plain ``nn.Module`` taking ``N×C×T×H×W`` input, wrapped with the entry's ``input:``
      :class:`~vidxai.models.spec.InputSpec` (default: 16 frames, short side 128, centre crop
      112, Kinetics mean/std); ``weights`` is then a ``state_dict`` file loaded strictly into
      the module.

    Raises:
        InvalidInputError: the callable cannot be imported, fails, or returns something that is
            not a module.
        UnknownNameError / WeightsUnavailableError: as :func:`vidxai.load_model`.
    """
    if spec.module is None:
        from vidxai.models.zoo import load_model

        return load_model(
            spec.name,
            weights=spec.weights if spec.weights is not None else "auto",
            num_classes=spec.num_classes,
            **spec.options,
        )
    from vidxai.models.adapter import VideoClassifier

    module_name, _, attr = spec.module.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"Model {spec.name!r}: cannot import {spec.module!r} ({exc})"
        ) from exc
    try:
        built = fn(**spec.options)
    except VidxaiError:
        raise
    except Exception as exc:
        raise InvalidInputError(
            f"Model {spec.name!r}: {spec.module}({spec.options or ''}) failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(built, VideoClassifier):
        if not isinstance(built, nn.Module):
            raise InvalidInputError(
                f"Model {spec.name!r}: {spec.module} returned {type(built).__name__}, not an "
                "nn.Module or a vidxai.VideoClassifier"
            )
        # a plain module: the file's `input:` says how to sample, resize and normalise videos
        built = VideoClassifier(built, spec.input_spec(), name=spec.name)
    if spec.weights is not None:
        from vidxai.models.weights import apply_state_dict, read_state_dict

        apply_state_dict(built.module, read_state_dict(spec.weights), spec.weights, spec.name)
    built.name = spec.name
    return built.eval()
