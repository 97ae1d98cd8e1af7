"""Optimisation-based explanations: 2D-EP, 3D-EP and STEP (Li et al., WACV 2021).

Small reusable parts: :mod:`~vidxai.extremal.mask` (smooth mask parametrisation),
:mod:`~vidxai.extremal.perturbation` (blur / fade pyramid), :mod:`~vidxai.extremal.reward`
(preserve / delete / dual), :mod:`~vidxai.extremal.losses` (area and core terms) and
:mod:`~vidxai.extremal.optimise` (the one loop); the methods are short declarations.
"""

from vidxai.extremal import ep2d, ep3d, step  # noqa: F401
