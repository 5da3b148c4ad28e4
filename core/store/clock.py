"""What the store asks for the time: the service's clock, injected, so stored times
follow the clock a test or an evaluation replays (never the wall clock behind its back)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
