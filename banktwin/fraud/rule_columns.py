"""Rule conditions over columns of features: which debits of a history no rule can hit.

Scoring a history, the rules are asked about every debit, and almost none is hit. CEL costs
about 10 µs a debit; the simple conditions rules are written in (comparisons of features with
numbers, ``&&``, ``||``, ``!``, double arithmetic) evaluate over a whole column at once in
numpy. :func:`column_conditions` compiles such a condition; :class:`RulePrefilter` says which
rows some active rule may hit, and only those go through :meth:`RuleSet.evaluate` (the
outcome of every other row is the rule set's outcome for nothing hit).

A speed trick, fenced: a condition is compiled only when its numpy value is CEL's own for
every input, so the grammar is small and typed as CEL types it (a count is an int, compared
only with an int; an amount a double, with a double; arithmetic on doubles only, where both
follow IEEE 754; no function, no string, no integer arithmetic, which can fail in CEL). A
condition outside it stays with CEL, row by row. CEL's one failure inside the grammar is an
ordering comparison with NaN (``0.0 / 0.0 < 1.0``), and CEL's ``&&`` and ``||`` absorb a
failure when the other side decides: so a condition evaluates to a value and a failure per
row, with CEL's rules, and a row where a condition fails goes to CEL too (which records it).
``tests/unit/fraud/test_rule_columns.py`` checks, on random feature values, that each
compiled condition gives CEL's answer or fails where CEL fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from banktwin.fraud.feature_names import FEATURE_KINDS, FEATURE_NAMES
from banktwin.fraud.rules import RuleSet

Type = Literal["int", "double", "bool"]
Columns = Mapping[str, np.ndarray]
Truth = tuple[np.ndarray, np.ndarray]
"""A bool per row, and whether CEL would fail there (then the bool is False)."""
Compiled = Callable[[Columns], Truth]

_TOKEN = re.compile(
    r"\s*(?:(?P<double>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)"
    r"|(?P<int>\d+)(?![\w.])"
    r"|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>&&|\|\||<=|>=|==|!=|[<>!()+\-*/]))"
)
_KIND_TYPES: dict[str, Type] = {"count": "int", "double": "double", "flag": "bool"}
_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_ARITHMETIC = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


class _UnsupportedError(Exception):
    """The condition is outside the grammar evaluated over columns (CEL keeps it)."""


@dataclass(frozen=True)
class _Node:
    type: Type
    evaluate: Callable[[Columns], Any]
    """Numbers: an array (or a scalar) per row; bools: a :data:`Truth`."""


def _tokens(source: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    source = source.rstrip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise _UnsupportedError(source[position:])
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


class _Parser:
    """Precedence climbing over CEL's levels: ``||``, ``&&``, relations, ``+ -``, ``* /``,
    unary ``! -``."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.at = 0

    def parse(self) -> _Node:
        node = self._or()
        if self.at != len(self.tokens):
            raise _UnsupportedError(self.tokens[self.at][1])
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise _UnsupportedError("end of condition")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _logical(self, op: str, operand: Callable[[], _Node], absorbing: bool) -> _Node:
        left = operand()
        while self._peek() == op:
            self._take()
            right = operand()
            if left.type != "bool" or right.type != "bool":
                raise _UnsupportedError(op)
            left = _Node("bool", _absorbing(absorbing, left.evaluate, right.evaluate))
        return left

    def _or(self) -> _Node:
        return self._logical("||", self._and, absorbing=True)

    def _and(self) -> _Node:
        return self._logical("&&", self._relation, absorbing=False)

    def _relation(self) -> _Node:
        left = self._sum()
        op = self._peek()
        if op in _COMPARE:
            self._take()
            right = self._sum()
            if left.type != right.type or (left.type == "bool" and op not in ("==", "!=")):
                raise _UnsupportedError(op)
            left = _Node("bool", _comparison(op, left, right))
            if self._peek() in _COMPARE:
                raise _UnsupportedError("chained comparison")
        return left

    def _arithmetic(self, ops: tuple[str, ...], operand: Callable[[], _Node]) -> _Node:
        left = operand()
        while (op := self._peek()) in ops:
            self._take()
            right = operand()
            if left.type != "double" or right.type != "double":
                raise _UnsupportedError(f"{op} on {left.type}, {right.type}")
            left = _Node("double", _arithmetic(_ARITHMETIC[op], left.evaluate, right.evaluate))
        return left

    def _sum(self) -> _Node:
        return self._arithmetic(("+", "-"), self._product)

    def _product(self) -> _Node:
        return self._arithmetic(("*", "/"), self._unary)

    def _unary(self) -> _Node:
        if self._peek() == "!":
            self._take()
            operand = self._unary()
            if operand.type != "bool":
                raise _UnsupportedError("!")
            inner = operand.evaluate

            def negation(columns: Columns) -> Truth:
                value, failed = inner(columns)
                return np.logical_not(value) & ~failed, failed

            return _Node("bool", negation)
        if self._peek() == "-":
            self._take()
            operand = self._unary()
            if operand.type != "double":
                raise _UnsupportedError("- on a non-double")
            inner = operand.evaluate
            return _Node("double", lambda columns: np.negative(inner(columns)))
        return self._primary()

    def _primary(self) -> _Node:
        kind, text = self._take()
        if text == "(" and kind == "op":
            node = self._or()
            if self._take()[1] != ")":
                raise _UnsupportedError("unbalanced parenthesis")
            return node
        if kind == "double":
            value = float(text)
            return _Node("double", lambda columns: np.asarray(value))
        if kind == "int":
            number = int(text)
            if number >= 2**53:
                raise _UnsupportedError(text)
            return _Node("int", lambda columns: np.asarray(float(number)))
        if kind == "name":
            if text in ("true", "false"):
                flag = text == "true"
                return _Node("bool", lambda columns: (np.asarray(flag), np.asarray(False)))
            if text not in FEATURE_KINDS or self._peek() in ("(", "."):
                raise _UnsupportedError(text)
            feature_type = _KIND_TYPES[FEATURE_KINDS[text]]
            if feature_type == "bool":
                return _Node("bool", lambda columns: (columns[text] != 0, np.asarray(False)))
            return _Node(feature_type, lambda columns: columns[text])
        raise _UnsupportedError(text)


def _arithmetic(
    op: np.ufunc, left: Callable[[Columns], Any], right: Callable[[Columns], Any]
) -> Callable[[Columns], Any]:
    return lambda columns: op(left(columns), right(columns))


def _comparison(op: str, left: _Node, right: _Node) -> Compiled:
    compare = _COMPARE[op]
    first, second = left.evaluate, right.evaluate
    if left.type == "bool":  # == or !=: a failure on either side fails the comparison

        def booleans(columns: Columns) -> Truth:
            (a, a_failed), (b, b_failed) = first(columns), second(columns)
            failed = a_failed | b_failed
            return compare(a, b) & ~failed, failed

        return booleans
    ordering = op not in ("==", "!=")

    def numbers(columns: Columns) -> Truth:
        a, b = first(columns), second(columns)
        # CEL fails to order NaN (IEEE's == and != it answers).
        failed = (np.isnan(a) | np.isnan(b)) if ordering else np.asarray(False)
        return compare(a, b) & ~failed, failed

    return numbers


def _absorbing(absorbing: bool, left: Compiled, right: Compiled) -> Compiled:
    """CEL's ``||`` (``absorbing`` True: a true side decides) or ``&&`` (a false side
    decides); otherwise a failure on either side fails the whole."""

    def combine(columns: Columns) -> Truth:
        (a, a_failed), (b, b_failed) = left(columns), right(columns)
        decided = (a == absorbing) & ~a_failed | (b == absorbing) & ~b_failed
        failed = ~decided & (a_failed | b_failed)
        value = decided if absorbing else ~decided & ~failed
        return value, failed

    return combine


def column_condition(source: str) -> Compiled | None:
    """The condition as a function of feature columns (float64 arrays by name, counts and
    flags as their float values) giving, per row, CEL's answer and whether CEL fails there;
    ``None`` when it is outside the grammar that evaluates exactly as CEL does (see the
    module)."""
    try:
        node = _Parser(source).parse()
    except _UnsupportedError:
        return None
    if node.type != "bool":
        return None
    evaluate = node.evaluate

    def condition(columns: Columns) -> Truth:
        rows = len(next(iter(columns.values())))
        with np.errstate(all="ignore"):  # x / 0.0 is inf or NaN, as in CEL
            value, failed = evaluate(columns)
        return np.broadcast_to(value, rows).copy(), np.broadcast_to(failed, rows).copy()

    return condition


class RulePrefilter:
    """Which rows of a feature matrix some active rule (enabled or shadow) may hit."""

    def __init__(self, rules: RuleSet) -> None:
        compiled = [column_condition(rule.spec.when) for rule in rules.active]
        self.conditions = [c for c in compiled if c is not None]
        self.complete = len(self.conditions) == len(compiled)
        """Every active rule compiled: a row none of them hits needs no CEL at all."""

    def may_hit(self, matrix: np.ndarray) -> np.ndarray:
        """A bool per row (columns in ``FEATURE_NAMES`` order): True where a rule hits or
        fails, so CEL must answer (every row when some rule stays with CEL)."""
        if not self.complete:
            return np.ones(len(matrix), dtype=bool)
        columns = {name: matrix[:, i] for i, name in enumerate(FEATURE_NAMES)}
        hit = np.zeros(len(matrix), dtype=bool)
        for condition in self.conditions:
            value, failed = condition(columns)
            hit |= value | failed
        return hit
