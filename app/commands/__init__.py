"""The `rememora` subcommands, one module a family. Each module has
``register(subparsers)``, which adds its parsers and sets ``handler`` on them: a function
``(service, args) -> int`` that runs with the data directory's service open.
To add a family, add its module to ``FAMILIES``."""

from __future__ import annotations

from app.commands import archive, bench, capture, chat, consolidate, health, memories
from app.commands import eval as evaluation

FAMILIES = (chat, memories, health, capture, archive, consolidate, evaluation, bench)
