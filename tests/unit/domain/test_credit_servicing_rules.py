"""Credit servicing in the customer twin: missed and late payments, days past due, defaults and
charge-offs per facility, the same in any arrival order, stored and shown."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.api.views import credit_view
from banktwin.domain.credit_servicing_rules import (
    MAX_FACILITIES,
    days_past_due_at,
    facility_status,
)
from banktwin.domain.customer import CustomerTwin, Facility
from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.twin import fold
from banktwin.store.codec import decode_twin, encode_twin
from tests.factories import T0, event, new_id, registered
from tests.unit.domain.test_arrival_order import (
    CUSTOMER,
    Drawn,
    assert_order_proof,
    customer_histories,
    timed,
)

CID = new_id()
SERVICING_TYPES = (
    "credit.payment_missed",
    "credit.payment_made",
    "credit.defaulted",
    "credit.charged_off",
)
D = timedelta(days=1)


def missed(facility: str, dpd: int, days: float, due: str = "300.00") -> Event:
    payload = {"facilityId": facility, "amountDue": due, "currency": "EUR", "daysPastDue": dpd}
    return event("credit.payment_missed", CID, payload, at=T0 + days * D)


def paid(facility: str, days: float, *, late: bool = False, amount: str = "300.00") -> Event:
    payload = {"facilityId": facility, "amount": amount, "currency": "EUR", "late": late}
    return event("credit.payment_made", CID, payload, at=T0 + days * D)


def defaulted(facility: str, days: float, outstanding: str = "9000.00") -> Event:
    payload = {"facilityId": facility, "outstanding": outstanding, "currency": "EUR"}
    return event("credit.defaulted", CID, payload, at=T0 + days * D)


def charged_off(facility: str, days: float, amount: str = "9000.00", dpd: int = 150) -> Event:
    payload = {"facilityId": facility, "amount": amount, "currency": "EUR", "daysPastDue": dpd}
    return event("credit.charged_off", CID, payload, at=T0 + days * D)


def customer(*events: Event) -> CustomerTwin:
    twin = fold(events)
    assert isinstance(twin, CustomerTwin)
    return twin


def test_missed_payments_put_a_facility_in_arrears_and_a_late_payment_cures_it() -> None:
    c = customer(registered(CID), paid("L1", 0), missed("L1", 1, 31), missed("L1", 31, 61))
    (f,) = c.facilities

    assert (f.facility_id, f.days_past_due, f.missed_payments) == ("L1", 31, 2)
    assert f.status_at == T0 + 61 * D and facility_status(f) == "delinquent"
    assert days_past_due_at(f, T0 + 61 * D) == 31
    assert days_past_due_at(f, T0 + 70 * D + timedelta(hours=5)) == 40  # arrears age

    cured = customer(
        registered(CID), missed("L1", 1, 31), missed("L1", 31, 61), paid("L1", 90, late=True)
    )
    (f,) = cured.facilities
    assert (f.days_past_due, f.missed_payments, f.late_payments) == (0, 2, 1)
    assert facility_status(f) == "current" and days_past_due_at(f, T0 + 200 * D) == 0


def test_a_default_and_a_charge_off_keep_their_first_time_and_amount() -> None:
    c = customer(
        missed("L1", 61, 0),
        defaulted("L1", 29, "9100.00"),
        defaulted("L1", 35, "9900.00"),  # a repeat: the first default stands
        charged_off("L1", 89, "9100.00", dpd=150),
    )
    (f,) = c.facilities

    assert f.defaulted_at == T0 + 29 * D and f.defaulted_amount == Decimal("9100.00")
    assert f.charged_off_at == T0 + 89 * D and f.charged_off_amount == Decimal("9100.00")
    assert f.days_past_due == 150 and facility_status(f) == "charged_off"
    assert days_past_due_at(f, T0 + 400 * D) == 150  # written off: no more ageing
    assert facility_status(customer(defaulted("L1", 3)).facilities[0]) == "defaulted"


def test_facilities_are_kept_by_id_each_with_its_own_state() -> None:
    c = customer(missed("L2", 1, 3), paid("L1", 2), missed("L3", 5, 4), defaulted("L2", 90))

    assert [f.facility_id for f in c.facilities] == ["L1", "L2", "L3"]
    assert [f.days_past_due for f in c.facilities] == [0, 90, 5]


def test_the_smallest_ids_are_kept_beyond_the_bound_in_any_order() -> None:
    ids = [f"L{i:03d}" for i in range(MAX_FACILITIES + 5)]
    events = [missed(facility, 1, i) for i, facility in enumerate(ids)]

    forward, backward = customer(*events), customer(*reversed(events))
    assert forward == backward
    assert [f.facility_id for f in forward.facilities] == ids[:MAX_FACILITIES]
    unchanged = customer(*events, missed(ids[-1], 31, 60))
    assert unchanged.facilities == forward.facilities


def test_the_credit_block_of_the_profile() -> None:
    c = customer(
        missed("L1", 31, 10),
        paid("L2", 10),
        defaulted("L3", 5, "500.00"),
        charged_off("L4", 3, "80.00", dpd=170),
    )
    view = credit_view(c, T0 + 20 * D)

    assert view["maxDaysPastDue"] == 90 + 15  # L3 defaulted at 90 and ageing; L4 written off
    assert (view["missedPaymentCount"], view["defaultedCount"], view["chargedOffCount"]) == (
        1,
        1,
        1,
    )
    l1 = view["facilities"][0]
    assert l1 == {
        "facilityId": "L1",
        "currency": "EUR",
        "status": "delinquent",
        "daysPastDue": 41,
        "missedPayments": 1,
        "latePayments": 0,
        "updatedAt": T0 + 10 * D,
        "defaultedAt": None,
        "defaultedAmount": None,
        "chargedOffAt": None,
        "chargedOffAmount": None,
    }
    assert credit_view(customer(registered(CID)), T0)["maxDaysPastDue"] == 0


def test_a_twin_with_facilities_reads_back_equal_and_an_older_document_still_reads() -> None:
    c = customer(registered(CID), missed("L1", 31, 1), defaulted("L1", 60), charged_off("L1", 90))
    assert decode_twin(SubjectKind.CUSTOMER, encode_twin(c)) == c

    bare = customer(registered(CID))
    doc = orjson.loads(encode_twin(bare))
    del doc["facilities"]
    assert decode_twin(SubjectKind.CUSTOMER, orjson.dumps(doc)) == bare


@st.composite
def servicing(draw: st.DrawFn) -> Drawn:
    """A servicing event of one of a few facilities, so facilities share events and instants."""
    facility = draw(st.sampled_from(["L1", "L2", "L3"]))
    kind = draw(st.sampled_from(SERVICING_TYPES))
    dpd = draw(st.sampled_from([0, 1, 31, 61, 90, 150]))
    amount = draw(st.sampled_from(["10.00", "300.00", "9000.00"]))
    currency = draw(st.sampled_from(["EUR", "USD"]))
    payload: dict[str, Any] = {"facilityId": facility, "currency": currency}
    if kind == "credit.payment_missed":
        payload |= {"amountDue": amount, "daysPastDue": max(dpd, 1)}
    elif kind == "credit.payment_made":
        payload |= {"amount": amount, "daysPastDue": dpd, "late": draw(st.booleans())}
    elif kind == "credit.defaulted":
        payload |= {"outstanding": amount, "daysPastDue": dpd}
    else:
        payload |= {"amount": amount, "daysPastDue": dpd}
    if draw(st.booleans()):
        payload["product"] = draw(st.sampled_from(["personal", "mortgage"]))
    return kind, payload


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_facilities_are_the_same_in_any_order(data: st.DataObject) -> None:
    drawn = data.draw(st.lists(servicing(), min_size=1, max_size=14))
    events = data.draw(timed(drawn, CUSTOMER, minutes=6))  # many at one instant
    twin = assert_order_proof(events, data.draw(st.permutations(events)))
    assert isinstance(twin, CustomerTwin) and all(isinstance(f, Facility) for f in twin.facilities)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_customer_with_servicing_among_everything_else_is_the_same_in_any_order(
    data: st.DataObject,
) -> None:
    others = data.draw(customer_histories())
    drawn = data.draw(st.lists(servicing(), max_size=8))
    events = others + data.draw(timed(drawn, CUSTOMER, minutes=20))
    assert_order_proof(events, data.draw(st.permutations(events)))
