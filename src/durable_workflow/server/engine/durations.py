"""ISO-8601 durations for schedule intervals: ``PnW`` or ``PnDTnHnMnS`` (fractional seconds ok).

Years and months are refused: their length varies, so "every P1M" has no fixed period; use a
cron expression for calendar rules. No library needed for this small, fixed grammar.
"""

from __future__ import annotations

import re

__all__ = ["DurationError", "parse_duration"]

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?)$"
)


class DurationError(ValueError):
    """Not an ISO-8601 duration this server accepts."""


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (e.g. ``PT30M`` -> 1800.0); :class:`DurationError` if malformed."""
    if not isinstance(text, str):
        raise DurationError(f"must be an ISO-8601 duration string, got {type(text).__name__}")
    value = text.strip().upper()
    if re.match(r"^P[^T]*\d[YM]", value):  # Y or M before the T: years or months
        raise DurationError(
            f"{text!r}: years and months have no fixed length; use days, hours, minutes or seconds"
        )
    m = _DURATION.match(value)
    if m is None or value in ("P", "PT") or value.endswith("T"):
        raise DurationError(
            f"{text!r} is not an ISO-8601 duration (expected e.g. PT30S, PT5M, PT1H, P1D, P1W)"
        )
    parts = {k: v for k, v in m.groupdict().items() if v is not None}
    seconds = float(parts.get("seconds", "0").replace(",", "."))
    seconds += int(parts.get("minutes", 0)) * 60
    seconds += int(parts.get("hours", 0)) * 3600
    seconds += int(parts.get("days", 0)) * 86400
    seconds += int(parts.get("weeks", 0)) * 7 * 86400
    return seconds
