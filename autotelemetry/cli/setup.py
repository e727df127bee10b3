"""Setting things up: `run` (one instrumented invocation) and `sitecustomize`."""

from __future__ import annotations

import os

import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("program_and_args", nargs=-1, type=click.UNPROCESSED, required=True)
def run(program_and_args: tuple[str, ...]) -> None:
    """Run PROGRAM once, instrumented, without allowlisting it.

    PROGRAM is a console script (`mycli`), `-m MODULE`, or a script path.
    Its input, output, terminal and exit status are untouched: the program
    replaces this process. Only that process is instrumented, not the Python
    programs it starts.

    \b
    Example: autotelemetry run -- mycli db migrate --dry-run
    """
    from autotelemetry.cli import run as runner

    runner.main(list(program_and_args))


@click.command()
def sitecustomize() -> None:
    """Print the sitecustomize.py that activates autotelemetry without the .pth.

    For interpreters that do not process the .pth file (autotelemetry on
    PYTHONPATH, images, some system Pythons). It chains to any other
    sitecustomize further down sys.path. Reads a file of the package; writes
    only to stdout. Use:

    \b
    autotelemetry sitecustomize > DIR/sitecustomize.py   # DIR on sys.path
    """
    from importlib.resources import files

    packaged = files("autotelemetry").joinpath("_data").joinpath("sitecustomize.py")
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:  # a source checkout or editable install
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(root, "sitecustomize_template", "sitecustomize.py")) as f:
            text = f.read()
    click.echo(text, nl=False)
