"""The ``vidxai`` command line, built from the registries.

Sub-commands live in their own modules, each exposing a click command named ``command``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from vidxai.errors import VidxaiError

_COMMAND_MODULES = (
    "vidxai.cli.explain",
    "vidxai.cli.listing",
    "vidxai.cli.demo",
    "vidxai.cli.evaluate",
    "vidxai.cli.benchmark",
    "vidxai.cli.run",
    "vidxai.cli.report",
    "vidxai.cli.study",
)


class _Group(click.Group):
    """A group that turns :class:`VidxaiError` (and file-system errors such as an output path
    that cannot be written) into one clear line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VidxaiError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:  # permissions, a file where a folder is needed, a full disk
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            click.echo(f"error: {exc.strerror or exc}{where}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vidxai")
def main() -> None:
    """vidxai: explain the predictions of video classification networks."""


for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # an optional sub-command not built yet
        if _exc.name != _name:
            raise
        continue
    for _attr in ("command", "commands"):
        _obj = getattr(_module, _attr, None)
        for _cmd in _obj if isinstance(_obj, (list, tuple)) else [_obj]:
            if isinstance(_cmd, click.Command):
                main.add_command(_cmd)
