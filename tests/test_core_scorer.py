"""The one batched scorer: batch parity, out-of-memory back-off, counting and timing."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from vidxai.core.context import CountingModel
from vidxai.core.scorer import Scorer
from vidxai.core.target import Target
from vidxai.core.timing import Stopwatch
from vidxai.errors import BatchSizeError


class _Picky(nn.Module):
    """Sums each clip; raises an out-of-memory error on batches larger than ``limit``."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.limit = limit
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        self.calls.append(x.shape[0])
        return torch.stack([x.flatten(1).sum(1), -x.flatten(1).sum(1)], dim=1)


def _batches(n: int):
    data = torch.arange(n * 6, dtype=torch.float32).reshape(n, 1, 1, 2, 3) / 10
    return data, lambda a, b: data[a:b]


@pytest.mark.parametrize("batch_size", [1, 3, 7, 64])
def test_batch_size_parity(batch_size: int) -> None:
    data, make = _batches(20)
    target = Target(index=0, behaviour="logit")
    scores = Scorer(_Picky(), target, batch_size=batch_size).run(20, make)
    torch.testing.assert_close(scores, data.flatten(1).sum(1))


def test_auto_batch_backs_off_on_out_of_memory() -> None:
    model = _Picky(limit=5)
    data, make = _batches(30)
    scorer = Scorer(model, Target(index=1, behaviour="logit"), batch_size="auto")
    scores = scorer.run(30, make)
    torch.testing.assert_close(scores, -data.flatten(1).sum(1))
    assert scorer.batch_size <= 5 and max(model.calls) <= 5 and sum(model.calls) == 30


def test_fixed_batch_that_does_not_fit_names_a_smaller_size() -> None:
    _, make = _batches(10)
    with pytest.raises(BatchSizeError, match=r"batch_size=8 does not fit.*batch_size=4"):
        Scorer(_Picky(limit=2), Target(index=0, behaviour="logit"), batch_size=8).run(10, make)


def test_outputs_and_no_grad() -> None:
    data, _ = _batches(4)
    model = nn.Linear(6, 3)
    out = Scorer(model, Target(0, "logit"), batch_size=2).outputs(
        4, lambda a, b: data[a:b].flatten(1)
    )
    assert out.shape == (4, 3) and not out.requires_grad


def test_counting_model_counts_clips_and_backward() -> None:
    sw = Stopwatch()
    model = CountingModel(nn.Linear(4, 2), sw)
    with torch.no_grad():
        model(torch.zeros(5, 4))
    x = torch.zeros(3, 4, requires_grad=True)
    model(x).sum().backward()
    assert (model.n_forward, model.n_backward) == (8, 3)
    assert sw.totals["inference"] > 0


def test_stopwatch_outermost_section_wins() -> None:
    sw = Stopwatch()
    with sw.section("segmentation"):
        time.sleep(0.02)
        with sw.section("inference"):
            time.sleep(0.02)
    b = sw.breakdown()
    assert b["segmentation"] >= 0.04 and b["inference"] == 0
    assert b["total"] >= b["segmentation"] + b["explanation"] - 1e-6
