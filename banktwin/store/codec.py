"""Twin state to JSON documents and back (shared by the store adapters).

msgspec maps the domain's dataclasses and named tuples straight to JSON and back in C:
this runs for every twin the projector writes and every profile the API reads, and a
hand-written mapping in Python cost several times more. Money stays an exact decimal string,
times are RFC 3339 in UTC.
"""

from __future__ import annotations

import msgspec

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.twin import Twin

_ENCODER = msgspec.json.Encoder(decimal_format="string")
_DECODERS: dict[SubjectKind, msgspec.json.Decoder[Twin]] = {
    SubjectKind.CUSTOMER: msgspec.json.Decoder(CustomerTwin),
    SubjectKind.BRANCH: msgspec.json.Decoder(BranchTwin),
    SubjectKind.LOAN: msgspec.json.Decoder(LoanTwin),
}


def encode_twin(twin: Twin) -> bytes:
    return _ENCODER.encode(twin)


def decode_twin(kind: SubjectKind, doc: bytes | str) -> Twin:
    """The twin a stored document holds.

    Raises:
        msgspec.ValidationError: the document does not match the twin's shape (a document
            written by an incompatible version; replay rebuilds it).
    """
    return _DECODERS[kind].decode(doc)


TWIN_FORMAT = "4"
"""The shape of the twin documents this build writes. Bump it when a change to the twins
leaves documents written before unreadable (2: spending packed, no recent transactions in the
customer twin; 3: the customer's ``behaviour.locked_out_at``; 4: order-proof rules: the times
of profile fields and consent flags, each account's balance book and status time, alert marks,
device platform times; the branch's detail times, closing, staff off duty, tickets sent home or
departed unjoined, recent waits; the loan's stage marks). A store holding documents of another
format keeps serving them while this build projects the log into a generation of its own
beside them, and switches when it has caught up (:mod:`banktwin.store.generations`)."""
