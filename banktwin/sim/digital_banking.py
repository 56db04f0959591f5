"""Logins, devices, and the occasional change of profile, consent or account status."""

from __future__ import annotations

from typing import Any

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import AccountStatus, AccountStatusChanged, AccountType
from banktwin.domain.payloads.customer import (
    AuthMethod,
    ConsentChange,
    CustomerConsentChanged,
    CustomerDeviceSeen,
    CustomerLogin,
    CustomerProfileUpdated,
    LoginChannel,
    LoginOutcome,
)
from banktwin.sim.bank_model import SimAccount, SimCustomer, SimDevice
from banktwin.sim.context import SimContext
from banktwin.sim.country_pools import make_email, vary_phone
from banktwin.sim.customer_factory import MOBILE_MODELS
from banktwin.sim.identifiers import device_id
from banktwin.sim.timeline import DAY, SECOND

LOGIN_FAILURE_RATE = 0.04
NEW_DEVICE_RATE = 0.004
"""Share of logins from a device the customer just got (a new phone, a new laptop)."""
MAX_DEVICES = 4
CHALLENGES_PASSED = 0.9
"""Share of step-up challenges (a login from a new device) the customer passes."""
# How customers sign in (cumulative weights): mostly a fingerprint or face in the app, a
# password on the web.
MOBILE_AUTH = (AuthMethod.BIOMETRIC, AuthMethod.PASSWORD, AuthMethod.PASSKEY), (70, 95, 100)
WEB_AUTH = (AuthMethod.PASSWORD, AuthMethod.OTP, AuthMethod.PASSKEY), (80, 95, 100)


class DigitalBanking:
    """Generates what customers do in the app and on the web, apart from payments."""

    def __init__(self, ctx: SimContext) -> None:
        self._ctx = ctx
        self._rng = ctx.rng

    def login(self, customer: SimCustomer, at: int) -> None:
        """A login from one of the customer's devices (rarely a new one, which the bank
        challenges); a failure is often retried a little later."""
        rng = self._rng
        new = rng.random() < NEW_DEVICE_RATE
        device = self._new_device(customer) if new else rng.choice(customer.devices)
        if rng.random() < LOGIN_FAILURE_RATE:
            self.emit_login(customer, device, at, LoginOutcome.FAILED, AuthMethod.PASSWORD)
            if rng.random() < 0.6:
                retry = at + rng.randint(15, 180) * SECOND
                self._ctx.scheduler.at(retry, self._retry, customer, device, new)
            elif new:
                self.device_seen(customer, device, at)
        elif new:
            self._challenge(customer, device, at)
        else:
            self.emit_login(customer, device, at)
            if rng.random() < 0.03:
                self.device_seen(customer, device, at)

    def emit_login(
        self,
        customer: SimCustomer,
        device: SimDevice,
        at: int,
        outcome: LoginOutcome = LoginOutcome.SUCCEEDED,
        auth_method: AuthMethod | None = None,
        country_code: str | None = None,
    ) -> Event:
        """Emit a login from ``device`` (from the customer's city, or only an IP country),
        by ``auth_method`` or else a way of signing in that suits the device."""
        city = (
            customer.trip_city if customer.trip_until > at and customer.trip_city else customer.home
        )
        if auth_method is None:
            methods, weights = MOBILE_AUTH if device.is_mobile else WEB_AUTH
            auth_method = self._rng.choices(methods, cum_weights=weights)[0]
        payload = CustomerLogin(
            channel=LoginChannel.MOBILE if device.is_mobile else LoginChannel.WEB,
            outcome=outcome,
            auth_method=auth_method,
            device_id=device.device_id,
            ip_country=country_code or city.country.code,
            location=city.location if country_code is None else None,
        )
        return self._ctx.emitter.emit(payload, customer.customer_id, at)

    def _challenge(self, customer: SimCustomer, device: SimDevice, at: int) -> None:
        """A login from a new device: the bank asks for a one-time code, which the customer
        usually enters a little later."""
        self.emit_login(customer, device, at, LoginOutcome.CHALLENGED, AuthMethod.PASSWORD)
        if self._rng.random() < CHALLENGES_PASSED:
            passed = at + self._rng.randint(20, 90) * SECOND
            self._ctx.scheduler.at(passed, self._challenge_passed, customer, device)

    def _challenge_passed(self, at: int, customer: SimCustomer, device: SimDevice) -> None:
        self.emit_login(customer, device, at, auth_method=AuthMethod.OTP)
        self.device_seen(customer, device, at)

    def _retry(self, at: int, customer: SimCustomer, device: SimDevice, new: bool) -> None:
        if new:
            self._challenge(customer, device, at)
        else:
            self.emit_login(customer, device, at)

    def device_seen(self, customer: SimCustomer, device: SimDevice, at: int) -> Event:
        """Emit a sighting of ``device`` with its platform and model."""
        payload = CustomerDeviceSeen(
            device_id=device.device_id, platform=device.platform, model=device.model
        )
        return self._ctx.emitter.emit(payload, customer.customer_id, at)

    def _new_device(self, customer: SimCustomer) -> SimDevice:
        rng = self._rng
        platform = rng.choice(("iOS", "Android"))
        device = SimDevice(device_id(rng), platform, rng.choice(MOBILE_MODELS[platform]), 0.0)
        customer.devices = [device, *customer.devices][:MAX_DEVICES]
        return device

    def update_profile(self, customer: SimCustomer, at: int) -> None:
        """The customer changes (or at last provides) an email, phone or address."""
        rng = self._rng
        pools = self._ctx.bank.pools[customer.country.code]
        missing = [f for f in ("email", "phone", "address") if getattr(customer, f) is None]
        field = rng.choice(missing) if missing and rng.random() < 0.7 else None
        field = field or rng.choice(("address", "phone", "email", "address"))
        value: Any
        if field == "email":
            value = make_email(rng, customer.name, pools.email_domains)
        elif field == "phone":
            value = vary_phone(rng, rng.choice(pools.phones))
        else:
            value = rng.choice(pools.addresses)
        setattr(customer, field, value)
        self._ctx.emitter.emit(CustomerProfileUpdated(**{field: value}), customer.customer_id, at)

    def change_consent(self, customer: SimCustomer, at: int) -> None:
        """The customer switches one optional consent on or off."""
        rng = self._rng
        flag = rng.choice(("marketing", "profiling", "data_sharing"))
        value = not getattr(customer.consent, flag)
        customer.consent = customer.consent.model_copy(update={flag: value})
        payload = CustomerConsentChanged(
            consent=ConsentChange(**{flag: value}), channel=rng.choice(("mobile", "web", "branch"))
        )
        self._ctx.emitter.emit(payload, customer.customer_id, at)

    def change_account_status(self, customer: SimCustomer, at: int) -> None:
        """A savings account falls dormant (or wakes up), or a checking account is frozen for
        a few days for a know-your-customer review."""
        rng = self._rng
        account = rng.choice(customer.accounts)
        if account.type is AccountType.SAVINGS:
            dormant = account.status is AccountStatus.DORMANT
            status = AccountStatus.ACTIVE if dormant else AccountStatus.DORMANT
            reason = "reactivated by customer" if dormant else "no customer activity"
        elif account.type is AccountType.CHECKING and account.status is AccountStatus.ACTIVE:
            status, reason = AccountStatus.FROZEN, "kyc review"
            self._ctx.scheduler.at(at + rng.randint(1, 4) * DAY, self._unfreeze, customer, account)
        else:
            return
        self._set_status(customer, account, status, reason, at)

    def _unfreeze(self, at: int, customer: SimCustomer, account: SimAccount) -> None:
        self._set_status(customer, account, AccountStatus.ACTIVE, "kyc review completed", at)

    def _set_status(
        self,
        customer: SimCustomer,
        account: SimAccount,
        status: AccountStatus,
        reason: str,
        at: int,
    ) -> None:
        account.status = status
        payload = AccountStatusChanged(account_id=account.account_id, status=status, reason=reason)
        self._ctx.emitter.emit(payload, customer.customer_id, at)
