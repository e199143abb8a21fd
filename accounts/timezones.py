import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Valid IANA time zone names, sorted, without the legacy aliases Django rejects."""
    return tuple(sorted(n for n in zoneinfo.available_timezones() if "/" in n or n == "UTC"))


def validate_timezone(value: str) -> None:
    if value not in timezone_names():
        raise ValidationError(
            "%(value)s is not a known time zone; use an IANA name such as Europe/London.",
            code="invalid_timezone",
            params={"value": value},
        )
