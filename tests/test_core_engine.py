"""The engine: one set of batching rules for forward-only and forward + backward passes."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import vidxai
from vidxai.core.engine import Engine, check_batch_size
from vidxai.errors import BatchSizeError, InvalidInputError


class _Picky(nn.Module):
    """A linear model ``x ↦ (Σx, −Σx, 2·Σx)`` that raises out-of-memory on large batches."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.limit = limit
        self.calls: list[int] = []
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        self.calls.append(int(x.shape[0]))
        s = (x.flatten(1) ** 2).sum(1) * self.scale
        return torch.stack([s, -s, 2 * s], dim=1)


def _data(n: int) -> torch.Tensor:
    return torch.arange(n * 6, dtype=torch.float32).reshape(n, 1, 1, 2, 3) / 10


def _first(out: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    return out[:, 0]


@pytest.mark.parametrize("batch_size", [1, 3, "auto", 64])
def test_scores_and_gradients_do_not_depend_on_the_batch_size(batch_size) -> None:
    x = _data(20)
    engine = Engine(_Picky(), batch_size)
    scores = engine.scores(20, lambda a, b: x[a:b], _first)
    values, grads = engine.value_and_grad(x, _first)
    expected = (x.flatten(1) ** 2).sum(1)
    torch.testing.assert_close(scores, expected)
    torch.testing.assert_close(values, expected)
    torch.testing.assert_close(grads, 2 * x)  # d Σx² / dx = 2x, written by hand
    assert (engine.n_forward, engine.n_backward) == (40, 20)


@pytest.mark.parametrize("grad", [False, True])
def test_auto_backs_off_on_out_of_memory_for_both_kinds_of_pass(grad: bool) -> None:
    model = _Picky(limit=5)
    engine = Engine(model, "auto")
    x = _data(30)
    if grad:
        values, grads = engine.value_and_grad(x, _first)
        torch.testing.assert_close(grads, 2 * x)
        assert engine.grad_batch_size <= 5
    else:
        values = engine.scores(30, lambda a, b: x[a:b], _first)
        assert engine.batch_size <= 5
    torch.testing.assert_close(values, (x.flatten(1) ** 2).sum(1))
    assert max(model.calls) <= 5 and sum(model.calls) == 30
    assert engine.n_forward == 30  # failed attempts raised before the counted forward


@pytest.mark.parametrize("grad", [False, True])
def test_a_fixed_batch_size_that_does_not_fit_names_a_smaller_one(grad: bool) -> None:
    engine = Engine(_Picky(limit=2), 8)
    x = _data(10)
    with pytest.raises(BatchSizeError, match=r"batch_size=8 does not fit.*batch_size=4"):
        if grad:
            engine.value_and_grad(x, _first)
        else:
            engine.scores(10, lambda a, b: x[a:b], _first)


def test_other_errors_are_not_mistaken_for_out_of_memory() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("shape mismatch in my model")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        Engine(Broken(), "auto").scores(4, lambda a, b: _data(4)[a:b], _first)


def test_backward_batches_run_the_callers_step_in_batches() -> None:
    engine = Engine(_Picky(limit=4), "auto")
    seen: list[tuple[int, int]] = []
    engine.backward_batches(10, lambda a, b: seen.append((a, b)))
    assert seen[0][0] == 0 and seen[-1][1] == 10
    assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(seen))


@pytest.mark.parametrize("good", [1, 7, "auto", "AUTO", "12"])
def test_batch_size_accepts_positive_ints_and_auto(good) -> None:
    assert check_batch_size(good) in ("auto", 1, 7, 12)


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "many", None, "0"])
def test_batch_size_rejects_everything_else(bad) -> None:
    with pytest.raises(InvalidInputError, match="batch_size"):
        check_batch_size(bad)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_every_front_door_validates_the_batch_size(tiny_model, tiny_clip, bad) -> None:
    with pytest.raises(InvalidInputError, match="batch_size"):
        vidxai.explain(tiny_model, tiny_clip[0], batch_size=bad, progress=False)
    attribution = torch.rand(tiny_clip.shape[2:])
    with pytest.raises(InvalidInputError, match="batch_size"):  # used to loop forever at 0
        vidxai.evaluate(tiny_model, tiny_clip[0], attribution, metrics=["deletion"], batch_size=bad)


def test_quiet_silences_the_engine_bar_and_restores_it(capsys: pytest.CaptureFixture[str]) -> None:
    engine = Engine(_Picky(), batch_size=2, progress=True)
    with engine.quiet() as same:
        assert same is engine and engine.progress is False
        engine.scores(6, lambda a, b: _data(6)[a:b], _first, desc="silent-pass")
    assert engine.progress is True
    assert "silent-pass" not in capsys.readouterr().err
    with pytest.raises(RuntimeError), engine.quiet():
        raise RuntimeError("boom")
    assert engine.progress is True  # restored after an exception too
    engine.scores(6, lambda a, b: _data(6)[a:b], _first, desc="loud-pass")
    assert "loud-pass" in capsys.readouterr().err
