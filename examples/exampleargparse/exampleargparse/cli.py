"""exampleargparse: the kind of argparse CLI autotelemetry is for (no telemetry code here)."""

import argparse
import sys
import time


def level(text: str) -> int:
    """A ``type=`` callable with a bug: it raises LookupError, which argparse does not catch."""
    return {"low": 1, "high": 2}[text]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="config file to read")

    parser = argparse.ArgumentParser(
        prog="exampleargparse",
        description="Manage a pretend database.",
        fromfile_prefix_chars="@",
        parents=[common],
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="say more")
    parser.add_argument("-q", "--quiet", action="store_true", help="say less")
    parser.add_argument("--color", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("-o", "--output", metavar="FILE", help="where to write")
    parser.add_argument("--version", action="version", version="%(prog)s 2.0.0")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    db = commands.add_parser("db", aliases=["database"], help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DBCOMMAND")
    migrate = db_commands.add_parser("migrate", aliases=["m", "mig"], help="migrate a schema")
    migrate.add_argument("--dry-run", action="store_true")
    migrate.add_argument("--to", metavar="VERSION")
    migrate.add_argument("environment")
    db_commands.add_parser("status", aliases=["st"], help="show migration status")

    greet = commands.add_parser("greet", help="greet someone")
    greet.add_argument("--token", help="API token")
    greet.add_argument("--tone", choices=["warm", "cold"])
    greet.add_argument("name")

    fail = commands.add_parser("fail", help="fail with an exit code")
    fail.add_argument("--code", type=int, default=3)

    crash = commands.add_parser("crash", help="crash with an unhandled exception")
    crash.add_argument("secret", nargs="?")

    tune = commands.add_parser("tune", help="type= callable that can crash")
    tune.add_argument("--level", type=level)

    toggle = commands.add_parser("toggle", prefix_chars="+-", help="plus-prefixed flags")
    toggle.add_argument("+x", "++xray", action="store_true")
    toggle.add_argument("-n", action="store_true")

    quiet = commands.add_parser("bare", add_help=False, help="a subparser without --help")
    quiet.add_argument("--plain", action="store_true")

    serve = commands.add_parser("serve", help="options sharing a destination, switches")
    serve.add_argument("-r", "--reload", action=argparse.BooleanOptionalAction, default=True)
    serve.add_argument("--autoreload", dest="reload", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--upper", dest="case", action="store_const", const="upper")
    serve.add_argument("--lower", dest="case", action="store_const", const="lower")
    serve.add_argument("--port", type=int, default=8000)

    wait = commands.add_parser("wait", help="sleep (for interrupt and signal tests)")
    wait.add_argument("--seconds", type=float, default=30.0)
    return parser


def run(args: argparse.Namespace) -> int:
    command = args.command
    if command in ("db", "database"):
        if args.db_command in ("migrate", "m", "mig"):
            verb = "would migrate" if args.dry_run else "migrated"
            print(f"{verb} {args.environment}" + (f" to {args.to}" if args.to else ""))
        else:
            print("up to date")
    elif command == "greet":
        print(f"hello {args.name}")
    elif command == "fail":
        if args.code == 3:
            print("error: the pretend database is locked", file=sys.stderr)
            return 1
        sys.exit(args.code)
    elif command == "crash":
        raise RuntimeError(f"cannot open /home/someone/.config/{args.secret or 'x'}")
    elif command == "tune":
        print(f"level {args.level}")
    elif command == "toggle":
        print(f"xray={args.xray} n={args.n}")
    elif command == "bare":
        print(f"plain={args.plain}")
    elif command == "serve":
        print(f"serving on {args.port} reload={args.reload} case={args.case}")
    elif command == "wait":
        print("waiting", file=sys.stderr, flush=True)
        time.sleep(args.seconds)
    else:
        print(f"verbose={args.verbose} quiet={args.quiet} color={args.color}")
    return 0


def main() -> int:
    return run(build_parser().parse_args())


if __name__ == "__main__":
    sys.exit(main())
