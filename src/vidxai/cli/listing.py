"""``vidxai models`` and ``vidxai methods``: what is available, from the registries."""

from __future__ import annotations

import click


@click.command("methods")
@click.option("--family", default=None, help="Only one family (gradient, cam, removal, …).")
def methods(family: str | None) -> None:
    """List the explanation methods with their parameters and defaults."""
    from vidxai.core.registry import list_methods

    for spec in list_methods(family):
        click.echo(f"{spec.name}  [{spec.family}]  {spec.description}")
        for info in spec.param_info():
            click.echo(f"    {info.name}: {info.type} = {info.default!r}")


@click.command("models")
def models() -> None:
    """List the model zoo with each model's family, input and default explanation layer."""
    from vidxai.models.zoo import list_models

    for info in list_models():
        layer = info.default_layer or "-"
        spec = info.spec
        size = f"{spec.num_frames}×{spec.size[0]}×{spec.size[1]}" if spec is not None else "?"
        needs = f"  (needs vidxai[{info.extra}])" if info.extra else ""
        click.echo(
            f"{info.name}  [{info.family}]  input={size}  layer={layer}  {info.description}{needs}"
        )


commands = [methods, models]
