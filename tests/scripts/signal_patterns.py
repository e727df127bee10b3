"""A Click program that does things with SIGTERM and SIGHUP, as real CLIs do."""

import os
import signal
import subprocess
import sys
import time

import click


@click.group()
def cli():
    pass


@cli.command()
def probe():
    """What the program sees of SIGTERM/SIGHUP while it runs."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(number)
        click.echo(
            f"{number.name} default={handler is signal.SIG_DFL} callable={callable(handler)}"
        )
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    click.echo(f"previous default={previous is signal.SIG_DFL} {previous!r}")
    signal.signal(signal.SIGTERM, previous)


@cli.command("if-default")
def if_default():
    """A library that installs its SIGTERM handler only where it finds the default."""
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):

        def stop(signum, frame):
            click.echo("graceful stop", err=True)
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
    click.echo("waiting", err=True)
    time.sleep(30)


@cli.command()
def fork():
    """A forked child starts with the default disposition and dies by SIGTERM."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        import _signal

        plain = all(type(_signal.getsignal(n)) is int for n in (signal.SIGTERM, signal.SIGHUP))
        os.write(write, b"1" if plain else b"0")
        time.sleep(30)
        os._exit(0)
    plain = os.read(read, 1) == b"1"
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    ended = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    click.echo(f"child default={plain} ended by signal {ended}")


@cli.command()
@click.option("--seconds", type=float, default=30.0)
def children(seconds):
    """Wait for a child process; the child outlives a terminated parent."""
    child = subprocess.Popen(
        ["sleep", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    click.echo("waiting", err=True)
    child.wait()


if __name__ == "__main__":
    cli()
