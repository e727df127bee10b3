"""exampleclick: the kind of CLI autotelemetry is for (no telemetry code in here)."""

import sys
import time

import click


class AliasedGroup(click.Group):
    """A group with command aliases and unique-prefix matching (a common Click recipe)."""

    aliases = {"m": "migrate", "st": "status"}

    def get_command(self, ctx, cmd_name):
        cmd_name = self.aliases.get(cmd_name, cmd_name)
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        matches = [name for name in self.list_commands(ctx) if name.startswith(cmd_name)]
        if len(matches) == 1:
            return super().get_command(ctx, matches[0])
        return None

    def resolve_command(self, ctx, args):
        _, command, args = super().resolve_command(ctx, args)
        return command.name, command, args


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Say more.")
@click.option("--config", type=click.Path(), help="Config file to read.")
@click.version_option("1.2.0")
@click.pass_context
def cli(ctx, verbose, config):
    """exampleclick: manage a pretend database."""
    ctx.obj = {"verbose": verbose}


@cli.group(cls=AliasedGroup)
@click.option("--offline", is_flag=True, help="Stop before any subcommand runs.")
@click.pass_context
def db(ctx, offline):
    """Database commands."""
    if offline:  # the group callback ends the run; Click had already resolved the subcommand
        click.echo("database offline: nothing done", err=True)
        ctx.exit(3)


@db.command()
@click.option("--dry-run", is_flag=True, help="Show what would change.")
@click.option("--to", "target_version", help="Migrate to this version.")
@click.argument("environment")
@click.pass_context
def migrate(ctx, dry_run, target_version, environment):
    """Migrate ENVIRONMENT's schema."""
    verb = "would migrate" if dry_run else "migrated"
    click.echo(f"{verb} {environment}" + (f" to {target_version}" if target_version else ""))
    if ctx.obj["verbose"]:
        click.echo("3 migrations applied", err=True)


@db.command()
def status():
    """Show migration status."""
    click.echo("up to date")


@cli.command()
@click.option("--token", help="API token.")
@click.argument("name")
def greet(token, name):
    """Greet NAME."""
    click.echo(f"hello {name}")


@cli.command()
@click.option("--code", type=int, default=3)
def fail(code):
    """Fail with a ClickException, or with sys.exit(CODE) when --code is given."""
    if code == 3:
        raise click.ClickException("the pretend database is locked")
    sys.exit(code)


@cli.command()
@click.argument("secret", required=False)
def crash(secret):
    """Crash with an unhandled exception."""
    raise RuntimeError(f"cannot open /home/someone/.config/{secret or 'x'}")


class BadStr(Exception):
    """An exception whose message cannot even be rendered."""

    def __str__(self):
        raise ValueError("__str__ failed")


def _recurse(n):
    return _recurse(n + 1) + 1


def _load(path, text):
    raise OSError(f"cannot read {path}: {text}")


@cli.command()
@click.option(
    "--kind",
    type=click.Choice(["plain", "thread", "chained", "badstr", "big", "recursion"]),
    default="plain",
)
@click.argument("text", default="", envvar="EXPLODE_TEXT")
def explode(kind, text):
    """Crash in one of several ways, with TEXT (or $EXPLODE_TEXT) and a home path in the message."""
    import os
    import threading

    where = os.path.join(os.path.expanduser("~"), ".config", "exampleclick.toml")
    if kind == "thread":
        worker = threading.Thread(target=_load, args=(where, text))
        worker.start()
        worker.join()
        click.echo("main thread finished")
    elif kind == "chained":
        try:
            try:
                _load(where, text)
            except OSError as exc:
                raise KeyError(f"config {where} {text}") from exc
        except KeyError:
            raise RuntimeError(f"giving up on {where}: {text}")  # noqa: B904
    elif kind == "badstr":
        raise BadStr(where, text)
    elif kind == "big":
        raise ValueError((f"{where} {text} " * 40000)[: 1 << 20])
    elif kind == "recursion":
        _recurse(0)
    else:
        _load(where, text)


@cli.command()
@click.option("--reload/--no-reload", "-r/-R", default=True, help="Reload on changes.")
@click.option("--autoreload", "reload", is_flag=True, hidden=True, help="Old name of --reload.")
@click.option("--color/--no-color", default=None, help="Colour the log.")
@click.option("--upper", "case", flag_value="upper", help="Log in upper case.")
@click.option("--lower", "case", flag_value="lower", default=True, help="Log in lower case.")
@click.option("--port", type=int, default=8000)
def serve(reload, color, case, port):
    """Pretend to serve: options that share a parameter, a hidden alias, switches."""
    click.echo(f"serving on {port} reload={reload} color={color} case={case}")


@cli.command()
@click.option("--seconds", type=float, default=30.0)
@click.option(
    "--on-term",
    type=click.Choice(["default", "exit", "chain", "ignore"]),
    default="default",
    help="SIGTERM/SIGHUP: leave the default, exit 0 cleanly, chain to the previous "
    "handler if it is callable, or ignore.",
)
def wait(seconds, on_term):
    """Sleep (for interrupt and signal tests)."""
    if on_term != "default":
        import signal

        def stop(signum, frame):
            click.echo(f"stopping on signal {signum}", err=True)
            if on_term == "exit":
                sys.exit(0)
            previous = handlers[signum]
            if on_term == "chain" and callable(previous):
                previous(signum, frame)

        handlers = {}
        for number in (signal.SIGTERM, signal.SIGHUP):
            handlers[number] = signal.signal(
                number, signal.SIG_IGN if on_term == "ignore" else stop
            )
    click.echo("waiting", err=True)
    time.sleep(seconds)
    click.echo("done waiting", err=True)


@cli.group(chain=True)
def pipeline():
    """Chained steps."""


@pipeline.command()
@click.option("--width", type=int)
def resize(width):
    click.echo(f"resize {width}")


@pipeline.command()
def save():
    click.echo("save")


def main():
    cli()


if __name__ == "__main__":
    main()
