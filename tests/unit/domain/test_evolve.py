"""Copy-with-changes of the frozen twins."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, fields, replace
from functools import cached_property

import pytest

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import Behaviour, CustomerTwin
from banktwin.domain.evolve import copies_dict, evolve, evolved
from banktwin.domain.loan import LoanTwin
from tests.factories import T0


def test_a_copy_has_the_changes_and_the_original_is_untouched() -> None:
    twin = CustomerTwin("c1", T0, T0)
    copy = evolve(twin, name="Jane", transaction_count=2)
    assert (copy.name, copy.transaction_count, copy.customer_id) == ("Jane", 2, "c1")
    assert (twin.name, twin.transaction_count) == (None, 0)
    assert copy == CustomerTwin("c1", T0, T0, name="Jane", transaction_count=2)
    with pytest.raises(FrozenInstanceError):
        copy.name = "Joe"  # type: ignore[misc]


def test_a_change_to_a_field_the_class_does_not_have_is_refused() -> None:
    twin = CustomerTwin("c1", T0, T0)
    with pytest.raises(TypeError, match="no field 'nmae'"):
        evolve(twin, nmae="Jane")
    with pytest.raises(TypeError, match="no field 'nmae'"):
        evolved(twin, {"name": "Jane", "nmae": "Jane"})


@dataclass(frozen=True, slots=True)
class Slotted:
    name: str
    count: int = 0


@dataclass(frozen=True)
class Checked:
    count: int
    doubled: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "doubled", self.count * 2)


@dataclass(frozen=True)
class Cached:
    count: int

    @cached_property
    def squared(self) -> int:
        return self.count**2


def test_a_slotted_dataclass_evolves_through_replace() -> None:
    original = Slotted("a")
    copy = evolve(original, count=3)
    assert copy == Slotted("a", 3) and original == Slotted("a")
    assert not copies_dict(Slotted)
    with pytest.raises(TypeError, match="no field 'nmae'"):
        evolve(original, nmae="b")
    with pytest.raises(FrozenInstanceError):
        copy.count = 4  # type: ignore[misc]


def test_a_class_whose_init_does_more_than_set_its_fields_is_not_copied_by_dict() -> None:
    assert not copies_dict(Checked) and evolve(Checked(1), count=5).doubled == 10
    cached = Cached(3)
    assert cached.squared == 9  # now cached in the instance's __dict__
    assert not copies_dict(Cached) and evolve(cached, count=4).squared == 16


TWINS = [
    CustomerTwin("c1", T0, T0, name="Jane"),
    Behaviour(login_count=2),
    BranchTwin("b1", T0, T0, name="Main St"),
    LoanTwin("l1", T0, T0, stage="underwriting"),
]


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: type(t).__name__)
def test_the_twins_take_the_fast_path_and_it_builds_what_init_builds(twin: object) -> None:
    """The fence of the shortcut: if a twin class stops being a plain dataclass (slots, a
    __post_init__, a field init does not set), this says so before a copy goes wrong or slow."""
    cls = type(twin)
    assert copies_dict(cls), f"{cls.__name__} no longer copies by __dict__: see evolve.py"
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    assert list(vars(twin)) == names, "an instance's __dict__ holds exactly its fields"
    changes = {names[0]: "x", names[-1]: 7}
    assert evolved(twin, changes) == replace(twin, **changes)  # type: ignore[type-var]
    assert list(vars(evolved(twin, changes))) == names
