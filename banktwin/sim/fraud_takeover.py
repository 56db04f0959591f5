"""Account takeover: a login from a new device (after failed attempts, perhaps a lock-out, and
a step-up challenge), perhaps a changed email or phone, then money moved out in large
transfers.

The events are the ones a customer would produce (logins, device sightings, profile updates,
transfers); only the ground truth ties them to the incident.
"""

from __future__ import annotations

from banktwin.domain.payloads.account import AccountType, Channel
from banktwin.domain.payloads.customer import AuthMethod, CustomerProfileUpdated, LoginOutcome
from banktwin.sim.bank_model import SimCustomer, SimDevice
from banktwin.sim.context import SimContext
from banktwin.sim.country_pools import make_email, vary_phone
from banktwin.sim.customer_factory import MOBILE_MODELS
from banktwin.sim.digital_banking import DigitalBanking
from banktwin.sim.fraud_incident import Incident
from banktwin.sim.geography import COUNTRIES
from banktwin.sim.ground_truth import Scenario
from banktwin.sim.identifiers import device_id
from banktwin.sim.merchant_catalog import TRANSFER_MCC
from banktwin.sim.timeline import MINUTE, SECOND

MIN_TRANSFER_CENTS = 10_000
PAYEE_COUNTRIES = ("DE", "GB", "NL", "ES", "IT", "FR")


class AccountTakeover:
    """Injects account takeovers."""

    def __init__(self, ctx: SimContext, banking: DigitalBanking) -> None:
        self._ctx = ctx
        self._rng = ctx.rng
        self._banking = banking

    def start(self, customer: SimCustomer, at: int) -> bool:
        """Take over the customer's online banking."""
        if customer.account_of(AccountType.CHECKING) is None:
            return False
        rng, schedule = self._rng, self._ctx.scheduler.at
        web = rng.random() < 0.5
        platform = "Web" if web else rng.choice(("iOS", "Android"))
        model = "Chrome on Windows" if web else rng.choice(MOBILE_MODELS[platform])
        device = SimDevice(device_id(rng), platform, model, 0.0)
        incident = Incident.begin(
            self._ctx, Scenario.ACCOUNT_TAKEOVER, customer, at, f"device {device.device_id}"
        )
        country = rng.choice(("RO", "NG", "BR", "TR")) if rng.random() < 0.5 else None
        due = at
        if rng.random() < 0.3:  # the stolen password is not quite right at first
            attempts = rng.randint(1, 4)
            locked = attempts > 2 and rng.random() < 0.6
            for attempt in range(1, attempts + 1):
                last = locked and attempt == attempts
                refused = LoginOutcome.LOCKED if last else LoginOutcome.FAILED
                schedule(due, self._login, incident, customer, device, country, refused)
                due += rng.randint(20, 120) * SECOND
            if locked:  # wait until the lock expires
                due += rng.randint(30, 180) * MINUTE
        # A new device is challenged; the fraudster has the code (phished, or a swapped SIM).
        schedule(due, self._login, incident, customer, device, country, LoginOutcome.CHALLENGED)
        due += rng.randint(20, 90) * SECOND
        schedule(due, self._login, incident, customer, device, country, LoginOutcome.SUCCEEDED)
        if rng.random() < 0.5:
            due += rng.randint(2, 20) * MINUTE
            schedule(due, self._change_contact, incident, customer)
        due += rng.randint(3, 30) * MINUTE
        schedule(due, self._sweep_savings, incident, customer, device)
        for _ in range(rng.randint(1, 3)):
            due += rng.randint(2, 15) * MINUTE
            schedule(due, self._transfer_out, incident, customer, device)
        return True

    def _login(
        self,
        at: int,
        incident: Incident,
        customer: SimCustomer,
        device: SimDevice,
        country: str | None,
        outcome: LoginOutcome,
    ) -> None:
        method = AuthMethod.OTP if outcome is LoginOutcome.SUCCEEDED else AuthMethod.PASSWORD
        login = self._banking.emit_login(
            customer, device, at, outcome, method, country_code=country
        )
        incident.mark(customer, login)
        if outcome is LoginOutcome.SUCCEEDED:
            incident.mark(customer, self._banking.device_seen(customer, device, at))

    def _change_contact(self, at: int, incident: Incident, customer: SimCustomer) -> None:
        rng = self._rng
        pools = self._ctx.bank.pools[customer.country.code]
        if rng.random() < 0.6:
            customer.email = make_email(rng, rng.choice(pools.payees), pools.email_domains)
            payload = CustomerProfileUpdated(email=customer.email)
        else:
            customer.phone = vary_phone(rng, rng.choice(pools.phones))
            payload = CustomerProfileUpdated(phone=customer.phone)
        incident.mark(customer, self._ctx.emitter.emit(payload, customer.customer_id, at))

    def _channel(self, device: SimDevice) -> Channel:
        return Channel.MOBILE if device.is_mobile else Channel.ONLINE_BANKING

    def _sweep_savings(
        self, at: int, incident: Incident, customer: SimCustomer, device: SimDevice
    ) -> None:
        """Move most of the savings into checking, ready to be sent away."""
        savings = customer.account_of(AccountType.SAVINGS)
        checking = customer.account_of(AccountType.CHECKING)
        if savings is None or checking is None or not savings.can_debit(MIN_TRANSFER_CENTS):
            return
        cents = savings.available() * self._rng.randint(60, 95) // 100 // 100 * 100
        moves = self._ctx.ledger.move(
            customer, savings, checking, cents, at, self._channel(device), device.device_id
        )
        for event, transaction_id in moves:
            incident.mark(customer, event, transaction_id)

    def _transfer_out(
        self, at: int, incident: Incident, customer: SimCustomer, device: SimDevice
    ) -> None:
        rng = self._rng
        checking = customer.account_of(AccountType.CHECKING)
        if checking is None or not checking.can_debit(MIN_TRANSFER_CENTS):
            return
        cents = checking.available() * rng.randint(40, 90) // 100 // 100 * 100
        if cents < MIN_TRANSFER_CENTS:
            return
        payee_country = COUNTRIES[rng.choice(PAYEE_COUNTRIES)].code
        payee = rng.choice(self._ctx.bank.pools[payee_country].payees)
        event, transaction_id = self._ctx.ledger.post(
            customer,
            checking,
            cents,
            at,
            channel=self._channel(device),
            device=device.device_id,
            merchant=payee,
            mcc=TRANSFER_MCC,
            description="Transfer",
        )
        incident.mark(customer, event, transaction_id)
