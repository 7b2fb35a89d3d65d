"""Names chosen from a fixed set: validation and the did-you-mean suggestion.

Every option of the API that takes a name (a format, a rounding mode, a
saturation, a NaN policy, a block format, a scale rule, a GPU preset ...)
checks it here, so a wrong *type* is a `TypeError` and an unknown *value* of
the right type is a `ValueError` that names the close matches.

Examples
--------
>>> from numfmt.choices import check_choice
>>> check_choice("saturation", " Finite", ("none", "finite", "propagate"))
'finite'
>>> check_choice("saturation", "satfinite", ("none", "finite", "propagate"))
Traceback (most recent call last):
...
ValueError: saturation='satfinite' is not one of ['none', 'finite', 'propagate']; did you mean 'finite'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

__all__ = ["check_choice", "did_you_mean"]


def did_you_mean(value, names: Iterable[str], n: int = 3) -> str:
    """The suffix `"; did you mean 'a' or 'b'?"` naming the names close to `value`, or `""`.

    Examples
    --------
    >>> from numfmt.choices import did_you_mean
    >>> did_you_mean("nearest", ["nearest_even", "nearest_away", "toward_zero"])
    "; did you mean 'nearest_even' or 'nearest_away'?"
    """
    key = str(value).strip().lower()
    names = list(dict.fromkeys(names))
    close = difflib.get_close_matches(key, names, n=n, cutoff=0.5)
    close += [m for m in names if key and m.startswith(key) and m not in close][: max(n - len(close), 0)]
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def check_choice(name: str, value, choices: Iterable[str], *, aliases: Mapping[str, str] | None = None,
                 unknown: str | None = None) -> str:
    """The canonical spelling of `value`, one of `choices` (case and spaces ignored).

    Parameters
    ----------
    name : str
        The keyword being checked (used in the messages).
    value : object
        What the caller passed.
    choices : iterable of str
        The canonical names (lower case).
    aliases : mapping, optional
        Other accepted spellings, each mapped to its canonical name.
    unknown : str, optional
        The start of the error message (default `"{name}={value!r} is not one of [...]"`);
        the did-you-mean suggestion follows it.

    Raises
    ------
    TypeError
        `value` is not a str.
    ValueError
        `value` is not a known name; the message suggests close matches.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}: {value!r}")
    choices = list(choices)
    key = value.strip().lower()
    if aliases:
        key = aliases.get(key, key)
    if key in choices:
        return key
    head = unknown if unknown is not None else f"{name}={value!r} is not one of {choices}"
    raise ValueError(head + did_you_mean(key, [*choices, *(aliases or ())]))
