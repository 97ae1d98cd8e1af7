"""vidxai.ops.blur against SciPy's gaussian_filter (reflect border) and a plain loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter, gaussian_filter1d

from vidxai.errors import ParameterError
from vidxai.ops import blur2d, blur3d, blur_axis, gaussian_blur, gaussian_matrix, kernel_radius
from vidxai.ops.blur import MATRIX_MAX


def _plain_blur1d(v: np.ndarray, sigma: float) -> np.ndarray:
    """Slow reference: explicit taps, index mirrored with the edge repeated, any radius."""
    n = len(v)
    radius = int(4.0 * sigma + 0.5)
    taps = [math.exp(-0.5 * (j / sigma) ** 2) for j in range(-radius, radius + 1)]
    total = sum(taps)
    out = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for j, w in zip(range(-radius, radius + 1), taps, strict=True):
            k = i + j
            while k < 0 or k >= n:  # reflect: ... b a | a b c d | d c ...
                k = -k - 1 if k < 0 else 2 * n - 1 - k
            acc += w * v[k]
        out[i] = acc / total
    return out


def test_kernel_radius_is_scipys_rule():
    assert [kernel_radius(s) for s in (0.0, 0.5, 1.0, 1.5, 2.2857, 8.0)] == [0, 2, 4, 6, 9, 32]


@pytest.mark.parametrize("sigma", [0.7, 2.0, 9.0, 30.0])
def test_blur_axis_matches_a_plain_loop_even_when_the_kernel_folds(sigma):
    gen = torch.Generator().manual_seed(0)
    v = torch.rand(11, generator=gen, dtype=torch.float64)
    ours = blur_axis(v.float(), sigma, 0).double().numpy()
    np.testing.assert_allclose(ours, _plain_blur1d(v.numpy(), sigma), atol=1e-6)
    exact = blur_axis(v, sigma, 0).numpy()  # float64 stays float64
    np.testing.assert_allclose(exact, _plain_blur1d(v.numpy(), sigma), rtol=1e-12, atol=1e-14)


def test_blur3d_and_blur2d_match_scipy_reflect():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 6, 20, 24, generator=gen, dtype=torch.float64)
    ref3 = gaussian_filter(x.numpy(), sigma=(0, 0, 1.5, 1.5, 1.5), mode="reflect", truncate=4.0)
    np.testing.assert_allclose(blur3d(x.float(), 1.5).numpy(), ref3, atol=1e-5)
    ref2 = gaussian_filter(x.numpy(), sigma=(0, 0, 0, 2.5, 0.8), mode="reflect", truncate=4.0)
    np.testing.assert_allclose(blur2d(x.float(), (2.5, 0.8)).numpy(), ref2, atol=1e-5)
    torch.testing.assert_close(gaussian_blur(x.float(), 1.5, "3d"), blur3d(x.float(), 1.5))
    torch.testing.assert_close(gaussian_blur(x.float(), 1.5, "2d"), blur2d(x.float(), 1.5))


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_long_axes_with_short_kernels_use_shifted_copies_and_agree_with_scipy(dim):
    gen = torch.Generator().manual_seed(2)
    shape = [2, 3, 4]
    shape[dim] = MATRIX_MAX + 150  # 406 > 20·(2·2 + 1): the shifted-copies path
    v = torch.rand(shape, generator=gen, dtype=torch.float64)
    ref = gaussian_filter1d(v.numpy(), 0.6, axis=dim, mode="reflect", truncate=4.0)
    np.testing.assert_allclose(blur_axis(v.float(), 0.6, dim).numpy(), ref, atol=1e-5)
    ref = gaussian_filter1d(v.numpy(), 6.0, axis=dim, mode="reflect", truncate=4.0)  # matrix
    np.testing.assert_allclose(blur_axis(v.float(), 6.0, dim).numpy(), ref, atol=1e-5)


def test_matrix_rows_sum_to_one_constants_stay_and_sigma_zero_is_identity():
    g = gaussian_matrix(17, 3.3)
    torch.testing.assert_close(g.sum(1), torch.ones(17))
    x = torch.full((2, 3, 4, 9, 9), -0.6)
    torch.testing.assert_close(blur3d(x, 5.0), x)
    torch.testing.assert_close(blur2d(x, 50.0), x)
    y = torch.rand(3, 4, 5)
    assert blur3d(y, 0.0) is y
    assert torch.equal(gaussian_matrix(4, 0.0), torch.eye(4))
    torch.testing.assert_close(gaussian_matrix(5, 1e9), torch.full((5, 5), 0.2))


def test_blur_is_differentiable_on_both_paths():
    x = torch.rand(2, 7, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: blur2d(t, 1.2), (x,))
    long = torch.rand(1, MATRIX_MAX + 50, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: blur_axis(t, 0.6, -1), (long,))


def test_bad_sigma_and_mode_raise_parameter_errors():
    x = torch.rand(2, 5, 5)
    with pytest.raises(ParameterError, match="sigma"):
        blur2d(x, -1.0)
    with pytest.raises(ParameterError, match="sigma"):
        blur3d(x, (1.0, 2.0))
    with pytest.raises(ParameterError, match="mode"):
        gaussian_blur(x, 1.0, "4d")


def test_the_package_docstring_example_runs():
    import doctest

    import vidxai.ops

    result = doctest.testmod(vidxai.ops)
    assert result.attempted >= 4 and result.failed == 0
