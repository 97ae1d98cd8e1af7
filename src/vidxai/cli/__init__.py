"""The ``vidxai`` command line, built from the registries.

Sub-commands live in their own modules, each exposing a click command named ``command``.
"""

from __future__ import annotations

import importlib
import os
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


def _closed_pipe() -> None:
    """The reader of our output went away (``vidxai methods | head``): not an error.

    Further writes (and the interpreter's final flush) go to /dev/null, and the exit status
    is 0, as for the commands of coreutils.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (captured output)
        pass
    sys.exit(0)


class _Group(click.Group):
    """A group that turns :class:`VidxaiError` (and file-system errors such as an output path
    that cannot be written) into one clear line and exit status 2; a closed output pipe ends
    the command quietly with status 0."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = super().main(*args, **kwargs)
            if kwargs.get("standalone_mode", True):
                sys.stdout.flush()
            return result
        except BrokenPipeError:
            _closed_pipe()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _closed_pipe()
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
