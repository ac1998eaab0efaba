"""Time zones by their IANA name, through the standard library's ``zoneinfo``.

Plain Python (no ORM): one rule for the report, the totals and the
hand-over metadata to tell a real time zone from a misspelt one.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name):
    """The time zone called ``name``, or None if there is none by that name."""
    if not name or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_zone(name):
    """Whether ``name`` names a time zone."""
    return zone(name) is not None
