"""Entry point of the ``encephagen`` command: a click group whose commands load lazily.

Each command lives in its own module under ``encephagen.cli`` and is imported only when
it runs, so ``encephagen --help`` stays fast and a heavy dependency of one command does
not slow the others. User errors (:class:`encephagen.errors.EncephagenError`) leave through
one exit path: one line on stderr and exit code 1 (2 for usage errors, as click does).
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import logging
import os
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
    "lesions": "encephagen.cli.lesions:lesions",
    "sweep": "encephagen.cli.sweep:sweep",
    "calibrate": "encephagen.cli.calibrate:calibrate",
    "run": "encephagen.cli.run:run",
    "fc": "encephagen.cli.fc:fc",
    "fic": "encephagen.cli.fic:fic",
    "import": "encephagen.cli.import_data:import_data",
    "export": "encephagen.cli.export:export",
    "view": "encephagen.cli.view:view",
}
"""Command name -> 'module:attribute'. A command whose module is absent is not listed."""


PYTHON_TO_FLAGS = (
    ("overwrite=True", "--force"),
    ("resume=True", "--resume"),
    ("keep_worse=True", "--keep-worse"),
    ("another run_dir", "another --run-dir"),
    ("executor '", "--executor '"),
    ("the objective option binding=FILE", "--option binding=FILE"),
    ("(run=)", "(--run)"),
    (
        "unless ENCEPHAGEN_DATA_ROOTS lists another root",
        "unless you allow another root with --allow-data-root DIR (or ENCEPHAGEN_DATA_ROOTS)",
    ),
)
"""How the library's errors name Python arguments -> how a command-line user gives them."""


def in_flags(message: str) -> str:
    """A library error message with its Python arguments replaced by this CLI's flags."""
    for python, flag in PYTHON_TO_FLAGS:
        message = message.replace(python, flag)
    return message


class LazyGroup(click.Group):
    """A group whose subcommands are ``'module:attribute'`` strings in :attr:`registry`, imported
    only when run; a subcommand whose module is absent is not listed."""

    registry: dict[str, str] = COMMANDS
    unknown_kind: str | None = None
    """Set to name the kind (e.g. "import format") to answer an unknown name with "did you mean"
    instead of click's usage error."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [
            name for name, target in self.registry.items() if importlib.util.find_spec(target.split(":")[0]) is not None
        ]

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
            click.echo(f"error: {in_flags(str(exc))}", err=True)
            ctx.exit(1)
        except OSError as exc:  # the machine's answer about a named file (disk full, read-only): the user's to fix
            if exc.errno not in USER_ERRNOS or exc.filename is None:
                raise
            click.echo(f"error: {exc.filename}: {exc.strerror}", err=True)
            ctx.exit(1)


USER_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.ENOSPC,
    errno.EROFS,
    errno.EDQUOT,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENAMETOOLONG,
}
"""OS errors about a named path that are said in one line instead of a traceback."""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="encephagen")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what the library decides (defaults it picks, files it writes). -vv for debug.",
)
@click.option(
    "--allow-data-root",
    "data_roots",
    multiple=True,
    type=click.Path(file_okay=False, exists=True),
    metavar="DIR",
    help="Also let circuits and SONATA configs read data under DIR (repeatable); by default only under the referring file's folder.",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="Load HDF5 circuits whose content hash does not match (edited outside encephagen).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, data_roots: tuple[str, ...], no_verify: bool) -> None:
    """encephagen: spiking circuits as data.

    \b
    Circuits are JSON (or HDF5) files; shipped ones are reachable by name:
      encephagen show spinal_cpg
      encephagen simulate half_centre --duration-ms 2000 --plot raster.png
      encephagen calibrate spinal_cpg --objective gait --budget 600 --out my_cpg.json
    """
    from encephagen.locations import DATA_ROOTS_ENV
    from encephagen.storage import NO_VERIFY_ENV

    saved = {name: os.environ.get(name) for name in (DATA_ROOTS_ENV, NO_VERIFY_ENV)}
    ctx.call_on_close(
        lambda: [os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v) for k, v in saved.items()]
    )
    if data_roots:  # environment variables: worker processes inherit them
        os.environ[DATA_ROOTS_ENV] = os.pathsep.join(
            [*data_roots, *filter(None, os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep))]
        )
    if no_verify:
        os.environ[NO_VERIFY_ENV] = "1"
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main() -> None:
    cli(prog_name="encephagen")


if __name__ == "__main__":
    main()
