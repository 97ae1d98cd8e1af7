"""The pieces of Class Feature Pyramids (Stergiou et al. 2019): back-steps through kernels.

A *back-step* from kernel ``j`` of a convolution: average the kernel ``k[j]`` over its
spatio-temporal extent (a vector over its input channels), multiply elementwise by the global
average of the convolution's input activation, min-max normalise, and keep the input channels
whose value reaches the threshold θ. Those channels are kernels of the convolution(s) that
produced the input, found by following the autograd graph of one forward pass back to the
nearest convolutions (through batch norm, ReLU, pooling, residual sums, temporal shifts); a
residual sum therefore has several producers and the back-step continues into each of them.

(The reference also divides the product by its sum before the min-max normalisation; after
min-max that only flips the ranking when the sum is negative, so vidxai leaves it out.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.conv import _ConvNd

from vidxai.cam.layers import forward_hooks
from vidxai.ops import minmax

_CONVS = (nn.Conv2d, nn.Conv3d)


def kernel_backstep(
    weight: Tensor, groups: int, input_mean: Tensor, kernel: int, threshold: float
) -> tuple[list[int], list[float]]:
    """Input channels that kernel ``kernel`` depends on.

    Args:
        weight: the convolution's weight, ``C_out×(C_in/groups)×k…`` (any kernel rank).
        groups: the convolution's ``groups``.
        input_mean: ``C_in`` global average of the convolution's input activation.
        kernel: output channel (kernel) index.
        threshold: θ in [0, 1] on the min-max normalised contributions.

    Returns:
        ``(channels, values)``: the selected input channels (global indices) and their
        normalised contributions, sorted by decreasing contribution.
    """
    c_out, c_in_group = int(weight.shape[0]), int(weight.shape[1])
    group = kernel // (c_out // groups)
    offset = group * c_in_group
    kernel_mean = weight[kernel].reshape(c_in_group, -1).mean(dim=1)
    contribution = kernel_mean * input_mean[offset : offset + c_in_group].to(kernel_mean.dtype)
    values = minmax(contribution.unsqueeze(0))[0]
    keep = (values >= threshold).nonzero().flatten()
    keep = keep[values[keep].argsort(descending=True)]
    return (keep + offset).tolist(), values[keep].tolist()


@dataclass
class ConvRecord:
    """One convolution's call: its module, input activation and output autograd node."""

    name: str
    module: _ConvNd
    input: Tensor
    node: Any


@contextmanager
def record_convs(module: nn.Module) -> Iterator[dict[str, ConvRecord]]:
    """Record every Conv2d/Conv3d's last input and output node; hooks removed in ``finally``."""
    store: dict[str, ConvRecord] = {}
    convs = {n: m for n, m in module.named_modules() if isinstance(m, _CONVS)}

    def record(name: str, m: nn.Module, inputs: tuple[Any, ...], out: Any) -> None:
        if inputs and isinstance(inputs[0], Tensor) and isinstance(out, Tensor):
            store.pop(name, None)
            store[name] = ConvRecord(name, m, inputs[0], out.grad_fn)  # type: ignore[arg-type]

    with forward_hooks(convs, record):
        yield store


def producers(tensor: Tensor, convs: dict[str, ConvRecord], channels: int) -> list[str]:
    """Convolutions whose outputs reach ``tensor`` without passing another convolution.

    Only producers with ``channels`` output channels are kept (a channel-changing step such as
    a concatenation breaks the kernel ↔ channel correspondence).
    """
    by_node = {id(r.node): r.name for r in convs.values() if r.node is not None}
    found: list[str] = []
    seen: set[int] = set()
    stack = [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        name = by_node.get(id(node))
        if name is not None:
            if int(convs[name].module.out_channels) == channels and name not in found:
                found.append(name)
            continue
        stack.extend(nxt for nxt, _ in node.next_functions)
    order = list(convs)
    return sorted(found, key=order.index, reverse=True)


@dataclass
class PyramidNode:
    """A selected kernel: its level (0 = last layer), score and selected input channels."""

    level: int
    score: float
    children: list[int] = field(default_factory=list)
    child_scores: list[float] = field(default_factory=list)


@dataclass
class Pyramid:
    """The result of :func:`build_pyramid`.

    Attributes:
        nodes: ``layer → kernel → PyramidNode``; each kernel is visited once (a DAG).
        producers: ``layer → [convolutions producing its input]`` for every visited layer.
    """

    nodes: dict[str, dict[int, PyramidNode]] = field(default_factory=dict)
    producers: dict[str, list[str]] = field(default_factory=dict)


def build_pyramid(
    convs: dict[str, ConvRecord],
    roots: dict[str, list[tuple[int, float]]],
    threshold: float,
    depth: int,
) -> Pyramid:
    """Back-step from the root kernels for ``depth`` levels of convolutions (breadth first).

    Args:
        convs: the recorded convolutions of one forward pass (with autograd graph).
        roots: ``layer → [(kernel, score)]`` selected from the classifier's weights.
        threshold: θ for every back-step.
        depth: number of convolution levels whose kernels are visited (≥ 1).
    """
    pyramid = Pyramid()
    input_means: dict[str, Tensor] = {}
    frontier = deque((layer, k, s, 0) for layer, ks in roots.items() for k, s in ks)
    while frontier:
        layer, kernel, score, level = frontier.popleft()
        if kernel in pyramid.nodes.get(layer, {}):
            continue
        record = convs[layer]
        module = record.module
        if layer not in input_means:
            dims = [d for d in range(record.input.ndim) if d != 1]
            input_means[layer] = record.input.detach().mean(dim=dims)
            pyramid.producers[layer] = producers(record.input, convs, int(module.in_channels))
        channels, values = kernel_backstep(
            module.weight.detach(), int(module.groups), input_means[layer], kernel, threshold
        )
        pyramid.nodes.setdefault(layer, {})[kernel] = PyramidNode(level, score, channels, values)
        if level + 1 < depth:
            for child_layer in pyramid.producers[layer]:
                frontier.extend((child_layer, c, v, level + 1) for c, v in zip(channels, values))
    return pyramid


def pyramid_tube(record: ConvRecord, channels: list[int]) -> Tensor:
    """Sum of the selected input channels of a convolution: raw input-activation layout."""
    index = torch.as_tensor(channels, dtype=torch.long, device=record.input.device)
    return record.input.detach().index_select(1, index).sum(dim=1, keepdim=True)
