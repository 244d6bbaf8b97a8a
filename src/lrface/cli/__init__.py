"""The command line: a thin client of the library. Each command parses its options, makes one
library call and prints; user errors become one line on stderr (``main``).

    options     shared option types and options (choice lists from the registries)
    recognize   verify, embed, identify, detect, scan
    gallery     gallery create / add / remove / list / info
    evaluate    eval, eval-*, calibrate, report
    make        make-* (test data and benchmarks)
    train       train, train-sr, publish, route, export-onnx, models
    serve       the HTTP service
"""
from __future__ import annotations

import logging
import sys

import click

from ..errors import LrfaceError
from . import evaluate, gallery, make, recognize, serve, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="log details")
def cli(verbose: bool) -> None:
    """lrface: face recognition across resolutions."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


for _module in (recognize, gallery, evaluate, make, train, serve):  # each module's top-level commands and groups
    _commands = [o for o in vars(_module).values() if isinstance(o, click.Command) and o.callback is not None
                 and o.callback.__module__ == _module.__name__]
    _subcommands = {id(c) for g in _commands if isinstance(g, click.Group) for c in g.commands.values()}
    for _command in _commands:
        if id(_command) not in _subcommands:
            cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit status."""
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except LrfaceError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
