"""The ``--viz`` help text, shared by the sub-commands that draw (light: no matplotlib)."""

from __future__ import annotations

from vidxai.viz.options import VizOptions

#: ``key; key; …`` of every :class:`VizOptions` field, for ``--viz`` help texts.
VIZ_KEYS = "; ".join(line.split(":")[0] for line in VizOptions.describe().splitlines())
