"""Copy-with-changes for the twins' frozen dataclasses.

The projector makes one copy of a twin per event, so the copy is a shortcut: for a dataclass
whose instances hold their fields in ``__dict__``, the copy is that dictionary with the changes,
set on a new instance without running ``__init__`` (``dataclasses.replace`` runs it over every
field, several times the cost; docs/performance.md, "Shortcuts in the domain"). That is the
same object ``__init__`` would build only when ``__init__`` does nothing but set every field:
:func:`copies_dict` checks it once per class (no slots, no ``__post_init__``, no
``init=False`` field, no ``cached_property`` that would copy a stale value). Any other class
takes ``dataclasses.replace``. The twins stay frozen: ordinary attribute assignment still
raises.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any, TypeVar

T = TypeVar("T")
_new = object.__new__
_set = object.__setattr__
_COPIES_DICT: dict[type, bool] = {}


def copies_dict(cls: type) -> bool:
    """Whether :func:`evolved` copies instances of ``cls`` by their ``__dict__`` (the fast
    path) rather than through ``dataclasses.replace``."""
    known = _COPIES_DICT.get(cls)
    if known is None:
        known = _COPIES_DICT[cls] = _plain(cls)
    return known


def _plain(cls: type) -> bool:
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return False
    if not all(f.init for f in dataclasses.fields(cls)):
        return False
    for klass in cls.__mro__[:-1]:  # not ``object``
        attributes = vars(klass)
        if "__slots__" in attributes:
            return False
        if any(isinstance(a, cached_property) for a in attributes.values()):
            return False
    return True


def evolve(obj: T, **changes: Any) -> T:
    """A copy of the frozen dataclass ``obj`` with ``changes`` applied.

    Raises:
        TypeError: a change names a field the class does not have.
    """
    return evolved(obj, changes)


def evolved(obj: T, changes: dict[str, Any]) -> T:
    """:func:`evolve` with the changes in a dict (a rule that builds one saves a copy).

    Raises:
        TypeError: a change names a field the class does not have.
    """
    cls = type(obj)
    if not copies_dict(cls):
        return _replaced(obj, changes)
    state = obj.__dict__.copy()  # every field is in it, and nothing else (``copies_dict``)
    fields = len(state)
    state.update(changes)
    if len(state) != fields:  # a name that is no field added a key
        unknown = sorted(changes.keys() - obj.__dict__.keys())
        raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
    new = _new(cls)
    _set(new, "__dict__", state)
    return new


def _replaced(obj: T, changes: dict[str, Any]) -> T:
    names = {f.name for f in dataclasses.fields(obj)}  # type: ignore[arg-type]
    unknown = sorted(changes.keys() - names)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {unknown[0]!r}")
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
