"""An argparse CLI (custom prefix characters, ``@file`` arguments) that crashes with its values."""

import argparse
import threading  # noqa: F401  (loaded before parsing: thread crashes are captured)

import leaky_common

parser = argparse.ArgumentParser(prog="leaky", prefix_chars="-+", fromfile_prefix_chars="@")
parser.add_argument("-v", "--verbose", action="store_true")
parser.add_argument("--name")
parser.add_argument("-x", dest="xval")
parser.add_argument("--opt", action="append", default=[])
parser.add_argument("--define", action="append", default=[])
parser.add_argument("--list", dest="items")
parser.add_argument("--path")
parser.add_argument("++plus")
parser.add_argument("rest", nargs="*")
args, extra = parser.parse_known_args()
values = [args.name, args.xval, *args.opt, *args.define, args.items, args.path, args.plus]
leaky_common.crash("argparse", [*values, *args.rest, *extra])
