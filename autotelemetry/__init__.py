"""autotelemetry: usage and crash telemetry for Click, Typer and argparse CLIs.

Importing this package must stay free: the start-up hook imports
``autotelemetry._boot`` in every Python process of the environment.
"""

__version__ = "0.1.0"
