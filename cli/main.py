"""Entry point of the ``encephagen`` command: a click group whose commands load lazily.

Each command lives in its own module under ``encephagen.cli`` and is imported only when
it runs, so ``encephagen --help`` stays fast and a heavy dependency of one command does
not slow the others. User errors (:class:`encephagen.errors.EncephagenError`) leave through
one exit path: one line on stderr and exit code 1 (2 for usage errors, as click does).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

import click

from encephagen import __version__
from encephagen.errors import EncephagenError, UnknownNameError

COMMANDS: dict[str, str] = {
    "validate": "encephagen.cli.validate:validate",
    "show": "encephagen.cli.show:show",
    "diff": "encephagen.cli.diff:diff",
    "convert": "encephagen.cli.convert:convert",
    "schema": "encephagen.cli.schema:schema",
    "migrate": "encephagen.cli.migrate:migrate",
    "simulate": "encephagen.cli.simulate:simulate",
    "gait": "encephagen.cli.gait:gait",
    "sweep": "encephagen.cli.sweep:sweep",
    "calibrate": "encephagen.cli.calibrate:calibrate",
    "run": "encephagen.cli.run:run",
    "fc": "encephagen.cli.fc:fc",
    "fic": "encephagen.cli.fic:fic",
    "import": "encephagen.cli.import_data:import_data",
    "export": "encephagen.cli.export:export",
}
"""Command name -> 'module:attribute'. A command whose module is absent is not listed."""


class LazyGroup(click.Group):
    """A group whose subcommands are ``'module:attribute'`` strings in :attr:`registry`, imported
    only when run; a subcommand whose module is absent is not listed."""

    registry: dict[str, str] = COMMANDS
    unknown_kind: str | None = None
    """Set to name the kind (e.g. "import format") to answer an unknown name with "did you mean"
    instead of click's usage error."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, target in self.registry.items() if importlib.util.find_spec(target.split(":")[0]) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        available = self.list_commands(ctx)
        if name not in available:
            if self.unknown_kind is not None:
                raise UnknownNameError(self.unknown_kind, name, available)
            return None
        module, attribute = self.registry[name].split(":")
        return getattr(importlib.import_module(module), attribute)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EncephagenError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="encephagen")
@click.option("-v", "--verbose", count=True, help="Log what the library decides (defaults it picks, files it writes). -vv for debug.")
def cli(verbose: int) -> None:
    """encephagen: spiking circuits as data.

    \b
    Circuits are JSON (or HDF5) files; shipped ones are reachable by name:
      encephagen show spinal_cpg
      encephagen simulate half_centre --duration-ms 2000 --plot raster.png
      encephagen calibrate spinal_cpg --objective gait --budget 600 --out my_cpg.json
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main() -> None:
    cli(prog_name="encephagen")


if __name__ == "__main__":
    main()
