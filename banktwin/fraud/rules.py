"""Declarative fraud rules: load a YAML rule set, compile its CEL conditions, score features.

A rule set is loaded once (`load_rules`) and checked as a whole: every problem found, each
naming the rule and the field, is reported in one `RuleSetError`. `RuleSet.evaluate` is pure and
never raises: a condition that fails on a transaction's values is recorded as an error of that
rule and scoring goes on. See docs/fraud.md ("Rules") for the file format and the combination.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cel
import yaml
from pydantic import ValidationError

from banktwin.fraud.feature_names import FEATURE_KINDS, FeatureKind
from banktwin.fraud.rule_checks import (
    FeatureValue,
    NotABooleanError,
    UniqueKeyLoader,
    field_errors,
    first_line,
    probe_condition,
)
from banktwin.fraud.rule_schema import (
    ACTION_RANK,
    SEVERITY_RANK,
    Action,
    Mode,
    RuleFileSpec,
    RuleSpec,
    Severity,
)

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.yaml")


class RuleSetError(ValueError):
    """A rule set that cannot be loaded; `problems` lists every problem found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: invalid rule set ({count} {noun}):\n{listed}")


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule whose condition held; `score` or `action` as written in the rule."""

    rule_id: str
    reason: str
    severity: Severity
    score: float | None
    action: Action | None


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A rule whose condition could not be evaluated on this transaction's features."""

    rule_id: str
    mode: Mode
    error: str


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What the rules say about one transaction.

    `score`, `action`, `severity` and `reasons` come from the enabled hits only; shadow hits are
    reported in `shadow_hits`, and `shadow_score` is the score the rule set would give if its
    shadow rules were enabled, so a shadow rule can be judged before it is switched on.
    """

    version: int | str
    hits: tuple[RuleHit, ...]
    shadow_hits: tuple[RuleHit, ...]
    errors: tuple[RuleFailure, ...]
    score: float
    shadow_score: float
    action: Action | None
    severity: Severity | None
    reasons: tuple[str, ...]

    @property
    def forces_alert(self) -> bool:
        """True when an enabled rule with an action (alert, review or block) hit."""
        return self.action is not None


def _as_count(value: Any) -> Any:
    # A count computed in floating point (3.0) still works in CEL int arithmetic.
    if type(value) is float and value.is_integer():
        return int(value)
    return value


_CONVERTERS: dict[FeatureKind, Callable[[Any], Any]] = {
    "count": _as_count,
    "double": float,  # CEL refuses int + double, so an amount of 100 must reach it as 100.0
    "flag": bool,
}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A validated rule with its compiled condition and the features it reads."""

    spec: RuleSpec
    position: int
    program: cel.Program
    inputs: tuple[tuple[str, Callable[[Any], Any]], ...]
    hit: RuleHit

    def matches(self, features: Mapping[str, FeatureValue]) -> bool:
        """Evaluate the condition; raises whatever the features or CEL raise."""
        try:
            # Only the rule's own features go to CEL: converting a value costs about as much
            # as evaluating a small condition.
            context = {name: convert(features[name]) for name, convert in self.inputs}
        except KeyError as missing:
            raise LookupError(f"missing feature {missing.args[0]!r}") from None
        result = self.program.execute(context)
        if type(result) is not bool:
            raise NotABooleanError(f"condition gave {type(result).__name__} {result!r}, not a bool")
        return result


class RuleSet:
    """A loaded, versioned rule set; `evaluate` scores one transaction's features."""

    def __init__(self, version: int | str, rules: Sequence[CompiledRule]) -> None:
        self.version = version
        self.rules = tuple(rules)
        # Disabled rules are never evaluated.
        self._active = tuple(rule for rule in self.rules if rule.spec.mode != "disabled")
        self._together = _compile_together(self._active)
        self._quiet = RuleOutcome(version, (), (), (), 0.0, 0.0, None, None, ())

    @property
    def active(self) -> tuple[CompiledRule, ...]:
        """The enabled and shadow rules, in file order (disabled ones are never evaluated)."""
        return self._active

    @property
    def nothing_hit(self) -> RuleOutcome:
        """What :meth:`evaluate` answers when no rule hits and none fails."""
        return self._quiet

    def _match_together(self, features: Mapping[str, FeatureValue]) -> list[bool] | None:
        """Every active rule's condition in one CEL call (a speed trick, see
        :func:`_compile_together`); ``None`` when any condition fails on these values, and
        each rule is then evaluated on its own to say which."""
        if self._together is None:
            return None
        program, converters = self._together
        context = cel.Context()
        # Lazily: CEL asks only for the features the conditions reach (a short-circuit spares
        # the rest), and handing a float to CEL costs ~2 µs.
        context.set_variable_resolver(lambda name: converters[name](features[name]))
        try:
            result = program.execute(context)
        except Exception:  # a missing feature, or a condition CEL cannot evaluate
            return None
        if type(result) is not list or not all(type(matched) is bool for matched in result):
            return None
        return result

    def evaluate(self, features: Mapping[str, FeatureValue]) -> RuleOutcome:
        """Evaluate every enabled and shadow rule on one transaction's features.

        Args:
            features: feature name to value (see feature_names.FEATURES).

        Returns:
            The hits, errors and combined score. Never raises for a condition that fails on
            these values: the failure is recorded in `errors` and the rule counts as not hit.
        """
        hits: list[tuple[int, RuleHit]] = []
        shadow_hits: list[RuleHit] = []
        errors: list[RuleFailure] = []
        together = self._match_together(features)
        if together is not None and True not in together:
            return self._quiet  # most transactions: nothing hit, nothing failed
        for index, rule in enumerate(self._active):
            if together is not None:
                matched = together[index]
            else:
                try:
                    matched = rule.matches(features)
                except Exception as error:  # CEL raises TypeError, ValueError, RuntimeError...
                    errors.append(RuleFailure(rule.spec.id, rule.spec.mode, _describe(error)))
                    continue
            if not matched:
                continue
            if rule.spec.mode == "enabled":
                hits.append((rule.position, rule.hit))
            else:
                shadow_hits.append(rule.hit)
        enabled = [hit for _, hit in hits]
        return RuleOutcome(
            version=self.version,
            hits=tuple(enabled),
            shadow_hits=tuple(shadow_hits),
            errors=tuple(errors),
            score=combine_scores(hit.score for hit in enabled),
            shadow_score=combine_scores(hit.score for hit in [*enabled, *shadow_hits]),
            action=_strongest_action(enabled),
            severity=_highest_severity(enabled),
            reasons=_ordered_reasons(hits),
        )


def combine_scores(scores: Iterable[float | None]) -> float:
    """Noisy-OR: 1 - prod(1 - score), so independent weak signals add up but never pass 1."""
    remaining = 1.0
    for score in scores:
        if score is not None:
            remaining *= 1.0 - score
    return 1.0 - remaining


def _strongest_action(hits: Sequence[RuleHit]) -> Action | None:
    actions = [hit.action for hit in hits if hit.action is not None]
    if not actions:
        return None
    return max(actions, key=ACTION_RANK.__getitem__)


def _highest_severity(hits: Sequence[RuleHit]) -> Severity | None:
    if not hits:
        return None
    return max((hit.severity for hit in hits), key=SEVERITY_RANK.__getitem__)


def _ordered_reasons(hits: list[tuple[int, RuleHit]]) -> tuple[str, ...]:
    # Most severe first, then file order; a reason shared by two rules is listed once.
    ranked = sorted(hits, key=lambda item: (-SEVERITY_RANK[item[1].severity], item[0]))
    return tuple(dict.fromkeys(hit.reason for _, hit in ranked))


def _describe(error: Exception) -> str:
    line = first_line(error)
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def load_default_rules() -> RuleSet:
    """Load the rule set shipped with the package (banktwin/fraud/default_rules.yaml)."""
    return load_rules(DEFAULT_RULES_PATH)


def load_rules(source: str | Path) -> RuleSet:
    """Load and check a rule set.

    Args:
        source: a `Path` to a YAML file, or the YAML text itself as a `str`.

    Returns:
        The compiled rule set.

    Raises:
        RuleSetError: listing every problem, each naming the rule (id and position) and field.
        OSError: when the file cannot be read.
    """
    if isinstance(source, Path):
        name, text = str(source), source.read_text(encoding="utf-8")
    else:
        name, text = "<rules>", source
    try:
        document = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise RuleSetError(name, [f"not valid YAML: {error}"]) from None
    problems: list[str] = []
    rule_set = _build(document, problems)
    if problems or rule_set is None:
        raise RuleSetError(name, problems or ["empty rule set"])
    return rule_set


def _build(document: object, problems: list[str]) -> RuleSet | None:
    if not isinstance(document, dict):
        problems.append("the file must be a mapping with 'version' and 'rules'")
        return None
    try:
        file_spec = RuleFileSpec.model_validate(document)
    except ValidationError as error:
        problems.extend(f"{field}: {message}" for field, message in field_errors(error))
        return None
    rules: list[CompiledRule] = []
    first_position: dict[str, int] = {}
    for position, raw in enumerate(file_spec.rules):
        label = _label(position, raw)
        rule = _compile_rule(position, raw, label, problems)
        if rule is None:
            continue
        if rule.spec.id in first_position:
            problems.append(f"{label}: id: duplicate of rules[{first_position[rule.spec.id]}]")
            continue
        first_position[rule.spec.id] = position
        rules.append(rule)
    return RuleSet(file_spec.version, rules)


def _compile_together(
    rules: Sequence[CompiledRule],
) -> tuple[cel.Program, dict[str, Callable[[Any], Any]]] | None:
    """One CEL program giving every rule's condition as a list of bools, with the converter
    of each feature the conditions read.

    A speed trick, fenced here (docs/performance.md). Handing a value to CEL is what costs:
    about 2.4 µs a float (0.5 µs an int or bool), whatever the condition. Evaluated in one
    call with a lazy resolver, a feature is handed over once, and only if a condition
    reaches it (``is_online && …`` never asks for the rest of an in-store payment): the
    default rule set costs about half of rule-by-rule evaluation. Each condition is
    parenthesised as its own list element, so its value is the one it has alone; only an
    error differs (one failing element fails the list), and then :meth:`RuleSet.evaluate`
    evaluates each rule on its own to name it. A property test checks that both ways agree
    (tests/unit/fraud/test_rules.py).
    """
    if len(rules) < 2:
        return None
    converters: dict[str, Callable[[Any], Any]] = {}
    for rule in rules:
        converters.update(rule.inputs)
    source = "[" + ", ".join(f"({rule.spec.when})" for rule in rules) + "]"
    try:
        return cel.compile(source), converters
    except Exception:  # every condition compiled alone; never expected, but never fatal
        return None


def _label(position: int, raw: object) -> str:
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    where = f"rules[{position}]"
    return f"{where} (id: {rule_id})" if isinstance(rule_id, str) else where


def _compile_rule(
    position: int, raw: object, label: str, problems: list[str]
) -> CompiledRule | None:
    if not isinstance(raw, dict):
        problems.append(f"{label}: expected a mapping of rule fields, got {type(raw).__name__}")
        return None
    try:
        spec = RuleSpec.model_validate(raw)
    except ValidationError as error:
        problems.extend(f"{label}: {field}: {message}" for field, message in field_errors(error))
        return None
    try:
        program = cel.compile(spec.when)
    except Exception as error:  # the CEL binding raises ValueError with the parser's message
        detail = str(error).replace("\n", "\n      ")
        problems.append(f"{label}: when: CEL syntax error: {detail}")
        return None
    names = program.variables()
    undeclared = [name for name in names if name not in FEATURE_KINDS]
    for name in undeclared:
        near = difflib.get_close_matches(name, FEATURE_KINDS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        problems.append(f"{label}: when: undeclared feature {name!r}{hint}")
    if undeclared:
        return None
    inputs = tuple((name, _CONVERTERS[FEATURE_KINDS[name]]) for name in names)
    hit = RuleHit(spec.id, spec.reason, spec.severity, spec.score, spec.action)
    rule = CompiledRule(spec, position, program, inputs, hit)
    type_problem = probe_condition(names, rule.matches)
    if type_problem is not None:
        problems.append(f"{label}: when: {type_problem}")
        return None
    return rule


__all__ = [
    "DEFAULT_RULES_PATH",
    "CompiledRule",
    "FeatureValue",
    "RuleFailure",
    "RuleHit",
    "RuleOutcome",
    "RuleSet",
    "RuleSetError",
    "combine_scores",
    "load_default_rules",
    "load_rules",
]
