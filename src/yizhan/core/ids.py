"""Ids typed or sent by people: in a query string, a form, a JSON body or an Excel cell."""

# The largest key a database column holds; a larger number makes the
# database driver raise instead of finding nothing.
MAX_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """The positive id ``value`` spells (an int, or ASCII digits), or None.

    ``str.isdigit`` is not enough: "²" is a digit that ``int`` refuses, and
    "１２" (full-width) is one it reads.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None
