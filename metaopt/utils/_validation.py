"""Validation of scalar arguments, in the spirit of :func:`sklearn.utils.check_scalar`.

scikit-learn's function checks the type and the bounds (imported on first use: ``import metaopt``
stays without scikit-learn).  metaopt wraps it for three things it does not do: refuse
``True``/``False`` where a number is meant (``bool`` is an ``Integral``), refuse NaN (it passes every
comparison), and raise :class:`~metaopt.ConfigError` in the words of the argument
(``cv must be an integer >= 2, got 1``) rather than ``TypeError``/``ValueError``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from metaopt.exceptions import ConfigError

_BOUNDARIES = ("left", "right", "both", "neither")


def _describe(target_type: Any, min_val: Any, max_val: Any, include_boundaries: str, unit: str | None) -> str:
    """``a positive integer``, ``an integer >= 2``, ``a positive number of seconds``, ``a number in [0, 1]``."""
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    if bool in types:
        return "True or False"
    integral = isinstance(target_type, type) and issubclass(target_type, numbers.Integral)
    low_in = include_boundaries in ("left", "both")
    high_in = include_boundaries in ("right", "both")
    upper = None if max_val is None or (math.isinf(max_val) and not high_in) else max_val  # < inf: "a number"
    if integral and min_val == 1 and low_in and upper is None:
        text = "a positive integer"
    elif not integral and min_val == 0 and not low_in and upper is None:
        text = "a positive number"
    else:
        text = "an integer" if integral else "a number"
        if min_val is not None and upper is not None:
            text += f" in {'[' if low_in else '('}{min_val}, {upper}{']' if high_in else ')'}"
        elif min_val is not None:
            text += f" {'>=' if low_in else '>'} {min_val}"
        elif upper is not None:
            text += f" {'<=' if high_in else '<'} {upper}"
    return text + (f" of {unit}" if unit else "")


def check_scalar(x: Any, name: str, target_type: Any, *, min_val: Any = None, max_val: Any = None,
                 include_boundaries: str = "both", allow_none: bool = False, unit: str | None = None) -> Any:
    """Validate a scalar argument's type and bounds; raise :class:`~metaopt.ConfigError` if it is invalid.

    Parameters
    ----------
    x
        The value to check.
    name
        The argument's name, as the user wrote it (``"cv"``, ``"--jobs"``).
    target_type
        Accepted type(s), e.g. ``numbers.Integral`` or ``numbers.Real``.  ``bool`` is refused
        unless it is named.
    min_val, max_val, include_boundaries
        Bounds, as in :func:`sklearn.utils.check_scalar`.  ``max_val=math.inf`` with an open upper
        bound refuses infinity.
    allow_none
        Accept ``None`` (returned unchanged).
    unit
        Unit of the value for the message (``"seconds"``).

    Returns
    -------
    int, float or object
        ``int(x)`` for an integer type, ``float(x)`` for a real type, else ``x``.

    Raises
    ------
    ConfigError
        ``"{name} must be a positive integer, got {x!r}"`` and the like.
    """
    if include_boundaries not in _BOUNDARIES:
        raise ValueError(f"include_boundaries must be one of {_BOUNDARIES}, got {include_boundaries!r}")
    if x is None and allow_none:
        return None
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    bad = (isinstance(x, bool) and bool not in types) or (isinstance(x, numbers.Real) and math.isnan(x))
    if not bad:
        from sklearn.utils import check_scalar as sk_check_scalar  # here: `import metaopt` stays without sklearn

        try:
            # scikit-learn refuses 'right' without max_val and 'left' without min_val: open intervals
            bounds = include_boundaries
            if (bounds == "right" and max_val is None) or (bounds == "left" and min_val is None):
                bounds = "neither"
            sk_check_scalar(x, name, target_type, min_val=min_val, max_val=max_val, include_boundaries=bounds)
        except (TypeError, ValueError):
            bad = True
    if bad:
        what = _describe(target_type, min_val, max_val, include_boundaries, unit)
        raise ConfigError(f"{name} must be {what}, got {x!r}")
    if isinstance(target_type, type) and issubclass(target_type, numbers.Integral):
        return int(x)
    if isinstance(target_type, type) and issubclass(target_type, numbers.Real):
        return float(x)
    return x
