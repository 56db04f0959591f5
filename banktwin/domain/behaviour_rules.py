"""How logins and device sightings change the customer twin's behavioural signals.

Counts add up; the "latest" facts (last login, a device's last sighting, a lock-out) never move
back when an older event arrives late; the device list is ordered by when each was seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from banktwin.domain.customer import Behaviour, Changes, CustomerRule, CustomerTwin, Device
from banktwin.domain.events import Event
from banktwin.domain.evolve import evolved
from banktwin.domain.ordering import newer
from banktwin.domain.payloads.customer import CustomerDeviceSeen, CustomerLogin, LoginOutcome

KNOWN_DEVICES = 10
"""Devices remembered per customer: the ones seen last. A device forgotten and seen again is
new again, so with more devices than this, which are new depends on arrival (docs/events.md)."""


def _listed(devices: tuple[Device, ...], index: int, device: Device) -> tuple[Device, ...]:
    """``devices`` with the one at ``index`` replaced by ``device`` (``-1``: added), most
    recently seen first, the ``KNOWN_DEVICES`` seen last kept."""
    others = devices if index < 0 else (*devices[:index], *devices[index + 1 :])
    key = (device.last_seen, device.device_id)
    for i, other in enumerate(others):
        if (other.last_seen, other.device_id) < key:
            return (*others[:i], device, *others[i:])[:KNOWN_DEVICES]
    return (*others, device)[:KNOWN_DEVICES]


def seen_device(b: Behaviour, device_id: str, platform: str | None, at: datetime) -> Behaviour:
    """Behaviour after a sighting of a device at ``at`` (``platform`` if the sighting names
    one); ``b`` itself when the sighting tells nothing new (the usual repeat sighting of a
    transaction's device is one scan, no copy)."""
    devices = b.devices
    index = next((i for i, d in enumerate(devices) if d.device_id == device_id), -1)
    if index < 0:
        device = Device(device_id, platform, at, at, None if platform is None else at)
        listed = _listed(devices, -1, device)
        if listed == devices:  # older than every known one, and no room: forgotten at once
            return b
        return evolved(b, {"devices": listed, "last_new_device_at": _newest_first_seen(listed)})
    known = devices[index]
    first = known.first_seen if known.first_seen <= at else at
    last = known.last_seen if known.last_seen >= at else at
    named, named_at = known.platform, known.platform_at
    if platform is not None and newer(at, platform, named_at, named):
        named, named_at = platform, at
    device = Device(device_id, named, first, last, named_at)
    if device == known:
        return b
    if last == known.last_seen:  # its place is unchanged
        listed = (*devices[:index], device, *devices[index + 1 :])
    else:
        listed = _listed(devices, index, device)
    if first == known.first_seen:
        return evolved(b, {"devices": listed})
    return evolved(b, {"devices": listed, "last_new_device_at": _newest_first_seen(listed)})


def _newest_first_seen(devices: tuple[Device, ...]) -> datetime | None:
    return max((d.first_seen for d in devices), default=None)


def _device_seen(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerDeviceSeen, e.payload)
    behaviour = seen_device(c.behaviour, p.device_id, p.platform, e.occurred_at)
    return {} if behaviour is c.behaviour else {"behaviour": behaviour}


def _login(c: CustomerTwin, e: Event) -> Changes:
    """A successful login counts as a login; a failed or locked-out one as a failed login (a
    lock-out also records when); a challenge not yet passed is neither. The last login (time,
    channel, country) is the one that occurred last."""
    p = cast(CustomerLogin, e.payload)
    b = c.behaviour
    at, outcome = e.occurred_at, p.outcome
    if outcome is LoginOutcome.CHALLENGED:
        return {}
    if outcome is not LoginOutcome.SUCCEEDED:
        refused: Changes = {"failed_login_count": b.failed_login_count + 1}
        if outcome is LoginOutcome.LOCKED and (b.locked_out_at is None or at > b.locked_out_at):
            refused["locked_out_at"] = at
        return {"behaviour": evolved(b, refused)}
    channel = p.channel.value
    country = p.ip_country or (p.location.country if p.location else None)
    changes: Changes = {"login_count": b.login_count + 1}
    last = (b.last_login_channel, b.last_login_country)
    if newer(at, (channel, country), b.last_login_at, last):
        changes.update(last_login_at=at, last_login_channel=channel, last_login_country=country)
    b = evolved(b, changes)
    if p.device_id:
        b = seen_device(b, p.device_id, None, at)
    return {"behaviour": b}


BEHAVIOUR_RULES: dict[str, CustomerRule] = {
    "customer.login": _login,
    "customer.device_seen": _device_seen,
}
"""The rule for each behavioural event type."""
