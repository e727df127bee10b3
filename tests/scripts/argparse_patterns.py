"""Common ways real CLIs drive argparse; the pattern is chosen by $PATTERN (not argv)."""

import argparse
import os
import sys

PATTERN = os.environ["PATTERN"]


def full_parser(parents=()):
    parser = argparse.ArgumentParser(prog="patterns", parents=list(parents))
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="cmd")
    run = sub.add_parser("run", aliases=["r"])
    run.add_argument("--fast", action="store_true")
    run.add_argument("target", nargs="?")
    sub.add_parser("stop")
    return parser


if PATTERN == "preparse":
    # The "config file pre-parser" recipe: parse_known_args, then the real parser.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("-c", "--config")
    known, rest = pre.parse_known_args()
    args = full_parser([pre]).parse_args(rest)
    print(args.cmd, known.config is not None)
elif PATTERN == "known-then-args":
    parser = full_parser()
    parser.parse_known_args()
    parser.add_argument("--plugin-opt")
    print(parser.parse_args())
elif PATTERN == "defaults-after":
    parser = full_parser()
    args = parser.parse_args()
    defaults = parser.parse_args([])  # a common way to get the defaults
    print(args.cmd, defaults.cmd)
elif PATTERN == "delegate":
    parser = full_parser()
    args, rest = parser.parse_known_args()
    plugin = argparse.ArgumentParser(prog="plugin")
    plugin.add_argument("--plugin-flag", action="store_true")
    print(args.cmd, plugin.parse_args(rest))
elif PATTERN == "synthetic":
    parser = full_parser()
    print(parser.parse_args(["--verbose", "stop"]))
elif PATTERN == "intermixed":
    parser = argparse.ArgumentParser(prog="mixed")
    parser.add_argument("--loud", action="store_true")
    parser.add_argument("-n", type=int)
    parser.add_argument("words", nargs="*")
    print(parser.parse_intermixed_args())
elif PATTERN == "no-exit-on-error":
    parser = argparse.ArgumentParser(prog="noexit", exit_on_error=False)
    parser.add_argument("--count", type=int)
    try:
        args = parser.parse_args()
    except argparse.ArgumentError as exc:
        print("bad usage:", exc, file=sys.stderr)
        sys.exit(2)
    print(args)
elif PATTERN == "no-exit-on-error-fallback":
    # A failed parse whose error the program handles, then a second parse that works.
    strict = argparse.ArgumentParser(prog="strict", exit_on_error=False)
    strict.add_argument("--count", type=int)
    strict.add_argument("--strict-only", action="store_true")
    try:
        args = strict.parse_args()
    except argparse.ArgumentError:
        loose = argparse.ArgumentParser(prog="loose")
        loose.add_argument("--count")
        loose.add_argument("--strict-only", action="store_true")
        args = loose.parse_args()
    print(args)
elif PATTERN == "uncaught-argument-error":
    parser = argparse.ArgumentParser(prog="uncaught", exit_on_error=False)
    parser.add_argument("--count", type=int)
    print(parser.parse_args())
elif PATTERN == "custom-error":

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise RuntimeError("usage problem: " + message)

    parser = Parser(prog="custom")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--verbatim", action="store_true")
    print(parser.parse_args())
elif PATTERN == "action-raises":

    class Explode(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            raise OSError("cannot reach the license server")

    parser = argparse.ArgumentParser(prog="explode")
    parser.add_argument("--boom", action=Explode, nargs=0)
    print(parser.parse_args())
elif PATTERN == "action-exits":

    class ListAndExit(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            print("plugins: a b c")
            parser.exit(0)

    parser = argparse.ArgumentParser(prog="lister")
    parser.add_argument("--list-plugins", action=ListAndExit, nargs=0)
    parser.add_argument("-x", action="store_true")
    print(parser.parse_args())
elif PATTERN == "post-parse-error":
    parser = argparse.ArgumentParser(prog="post")
    parser.add_argument("--a", action="store_true")
    parser.add_argument("--b", action="store_true")
    args = parser.parse_args()
    if args.a and args.b:
        parser.error("--a and --b cannot be combined")
    print(args)
elif PATTERN == "interrupt":
    parser = argparse.ArgumentParser(prog="interrupt")
    parser.add_argument("--slow", action="store_true")
    parser.parse_args()
    raise KeyboardInterrupt
