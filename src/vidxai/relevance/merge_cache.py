"""A BatchNorm merged into the layer before it, kept from one LRP call to the next.

zennit's merge (``w·s``, ``(b − μ)·s + β`` with ``s = γ / √(σ² + eps)``) recomputes every merged
weight in every call: a pass over all weights and new tensors, which the fused z⁺ hook then
compared with its stacked copy (another pass) — on tiny TSM, whose convolutions on 2²–7² maps
cost little more than reading their weights, the two took as long as a third of a plain forward
and backward pass. Here each layer keeps copies of the parameters it was merged from and the
merged tensors: a call whose parameters equal the copies exactly (one read of the weights and
the copies) gets the *same* merged tensors again; any change, however made (in place through
``.data``, ``copy_``, an optimiser step, ``load_state_dict``), fails the comparison and merges
anew. Version counters would not do: a write through ``p.data`` leaves ``p._version`` alone.

The fused z⁺ hook keeps its stacked ``[w; w⁺]`` and hands the first half back
(:func:`adopt`): from then on the merged weight a call gets *is* that half, recognised by its
memory without a comparison. The merged tensors belong to vidxai; they are the layer's
parameters only inside an LRP call (a reference taken there and written to later is not
noticed). So are, kept with them, the emptied BatchNorm's tensors (mean 0, variance 1 − eps,
shift 0, scale 1) and, for a layer without a bias, the bias parameter it has while merged: a call
that reuses the merge allocates nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from zennit.types import ConvolutionTranspose

#: the BatchNorm tensors a merge reads, in the order of :attr:`_Merged.emptied`.
NAMES = ("weight", "bias", "running_mean", "running_var")


@dataclass
class _Merged:
    """Copies of what a layer was merged from, the merged ``(weight, bias)``, the emptied
    BatchNorm's ``weight``, ``bias``, ``running_mean``, ``running_var`` (1, 0, 0, 1 − eps) and the
    merged bias as a parameter (for a layer that has none of its own)."""

    sources: tuple[Tensor | None, ...]
    eps: float
    weight: Tensor
    bias: Tensor
    emptied: tuple[Tensor, ...]
    bias_parameter: nn.Parameter


#: per layer, its last merge (weakly keyed: dropped with the layer).
_MERGED: weakref.WeakKeyDictionary[nn.Module, _Merged] = weakref.WeakKeyDictionary()


def _libc_memcmp() -> Any:
    """The C library's ``memcmp`` (None where ctypes cannot find it)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        memcmp = libc.memcmp
    except (OSError, AttributeError):
        return None
    memcmp.restype = ctypes.c_int
    memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    return memcmp


_MEMCMP = _libc_memcmp()


def same_values(a: Tensor | None, b: Tensor | None) -> bool:
    """``a`` and ``b`` (or both None) have the same shape, dtype, device and elements.

    Contiguous CPU tensors are compared byte for byte with ``memcmp`` (memory-bound: 5 ms for
    TSM-ResNet-18's 11 M weights against 8 ms for ``torch.equal``; equal bytes are equal
    values, and a −0 against a 0 only costs a rebuild); others with ``torch.equal``.
    """
    if a is None or b is None:
        return a is None and b is None
    if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
        return False
    cpu = a.device.type == "cpu" and a.is_contiguous() and b.is_contiguous()
    if _MEMCMP is not None and cpu and not (a.is_conj() or b.is_conj() or a.is_neg() or b.is_neg()):
        return bool(_MEMCMP(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()) == 0)
    return torch.equal(a, b)


def _sources(linear: nn.Module, batch_norm: nn.Module) -> tuple[Tensor | None, ...]:
    """The tensors the merge reads: the layer's weight and bias (None: zero), the BatchNorm's
    four (read from the modules' dictionaries: no ``Module.__getattr__``)."""
    params, norm, stats = linear._parameters, batch_norm._parameters, batch_norm._buffers
    tensors = (params["weight"], params["bias"], norm["weight"], norm["bias"],
               stats["running_mean"], stats["running_var"])  # fmt: skip
    return tuple(None if t is None else t.data for t in tensors)


def _merge(linear: nn.Module, sources: tuple[Tensor | None, ...], eps: float) -> tuple[Tensor, ...]:
    """zennit's ``MergeBatchNorm.merge_batch_norm`` arithmetic, to new tensors."""
    weight, bias, gamma, beta, mean, var = sources
    assert weight is not None and gamma is not None and beta is not None
    assert mean is not None and var is not None
    if bias is None:
        bias = weight.new_zeros(1)
    scale = gamma / (var + eps) ** 0.5
    if isinstance(linear, ConvolutionTranspose):
        index: tuple[slice | None, ...] = (None, slice(None), *((None,) * (weight.ndim - 2)))
    else:
        index = (slice(None), *((None,) * (weight.ndim - 1)))
    return weight * scale[index], (bias - mean) * scale + beta


def merged(linear: nn.Module, batch_norm: nn.Module) -> tuple[Tensor, Tensor]:
    """``linear``'s weight and bias with ``batch_norm`` merged in (zennit's arithmetic), the
    same tensors as the last call's when nothing they are made from changed.

    Args:
        linear: a convolution or dense layer (its bias may be None: zero).
        batch_norm: the BatchNorm that follows it (affine, with running statistics).
    """
    entry = kept(linear, batch_norm)
    return entry.weight, entry.bias


def kept(linear: nn.Module, batch_norm: nn.Module) -> _Merged:
    """The kept merge of ``batch_norm`` into ``linear`` (:func:`merged`), made anew when any
    tensor it is made from differs from its copy."""
    sources = _sources(linear, batch_norm)
    eps = float(batch_norm.eps)  # type: ignore[arg-type]
    entry = _MERGED.get(linear)
    if entry is not None and entry.eps == eps and all(map(same_values, entry.sources, sources)):
        return entry
    weight, bias = _merge(linear, sources, eps)
    copies = tuple(None if t is None else t.clone() for t in sources)
    values = (1.0, 0.0, 0.0, 1.0 - eps)  # the emptied BatchNorm: an exact identity
    emptied = tuple(torch.full_like(t, v) for t, v in zip(sources[2:], values) if t is not None)
    entry = _Merged(copies, eps, weight, bias, emptied, nn.Parameter(bias))
    _MERGED[linear] = entry
    return entry


def adopt(linear: nn.Module, weight: Tensor, replacement: Tensor) -> None:
    """Where ``weight`` is ``linear``'s kept merged weight, keep ``replacement`` instead (a
    tensor with the same values, e.g. the first half of a stacked copy)."""
    entry = _MERGED.get(linear)
    if entry is not None and same_memory(entry.weight, weight):
        entry.weight = replacement


def same_memory(a: Tensor, b: Tensor) -> bool:
    """``a`` and ``b`` are the same elements of the same memory (hence equal)."""
    return (
        a.data_ptr() == b.data_ptr()
        and a.shape == b.shape
        and a.stride() == b.stride()
        and a.dtype == b.dtype
        and a.device == b.device
    )
