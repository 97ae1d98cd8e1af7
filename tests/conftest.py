"""Shared fixtures: tiny models and clips so every test runs in milliseconds."""

from __future__ import annotations

import os

import pytest
import torch
from torch import Tensor, nn

_THREADS = os.environ.get("VIDXAI_TEST_THREADS", "1")
torch.set_num_threads(int(_THREADS))
# Subprocesses (CLI and README-block tests, servers) inherit the same: with ``-n 2`` each worker
# has one core, and two-thread children on a busy two-core machine spin against each other.
os.environ["OMP_NUM_THREADS"] = _THREADS


class TinyNet(nn.Module):
    """Conv3d + ReLU + global average pooling + Linear; N×3×T×H×W → N×classes."""

    def __init__(self, num_classes: int = 4, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(3, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv3d(width, width, 3, stride=(1, 2, 2), padding=1),
            nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


class SmoothNet(nn.Module):
    """Conv3d → tanh → GAP → Linear: small and smooth (noise changes its gradients);
    N×3×T×H×W → N×4, weights fixed by ``torch.manual_seed(0)``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv3d(3, 6, 3, padding=1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.tanh(3 * self.conv(x)).mean(dim=(2, 3, 4)))


class AdditiveModel(nn.Module):
    """f_k(x) = Σ_s W[k, s] · mean(x over segment s) (mean over channels and voxels).

    A linear model of segment means, so Shapley values, LOCO, etc. have closed forms.
    ``segments`` is a ``T×H×W`` integer label volume with labels 0..M−1; ``weights`` is K×M.
    """

    def __init__(self, segments: Tensor, weights: Tensor) -> None:
        super().__init__()
        m = int(segments.max()) + 1
        onehot = nn.functional.one_hot(segments.long().flatten(), m).float()  # V×M
        self.register_buffer("avg", onehot / onehot.sum(0, keepdim=True))
        self.register_buffer("weights", weights.float())

    def segment_means(self, x: Tensor) -> Tensor:
        """``N×C×T×H×W`` → ``N×M`` mean of each segment over channels and voxels."""
        return x.mean(1).flatten(1) @ self.avg

    def forward(self, x: Tensor) -> Tensor:
        return self.segment_means(x) @ self.weights.T


@pytest.fixture
def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return TinyNet().eval()


@pytest.fixture
def smooth_model() -> nn.Module:
    """A fresh :class:`SmoothNet` in eval mode (same weights every time)."""
    return SmoothNet().eval()


@pytest.fixture
def tiny_clip() -> Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, 8, 32, 32, generator=g)


@pytest.fixture
def additive_model():
    """Factory: ``additive_model(segments T×H×W, weights K×M) -> AdditiveModel``."""
    return AdditiveModel
