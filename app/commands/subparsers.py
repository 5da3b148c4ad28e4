"""The type of the ``rememora`` parser's subcommand table, which each family's
``register`` fills (argparse names it only privately)."""

from __future__ import annotations

import argparse
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
