"""The twin as the API shows it: camelCase JSON, computed at the time of the read.

Time-dependent figures (spending windows, time in stage, SLA state) are evaluated at ``at``:
the request time, or the ``asOf`` time of a historical read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from banktwin.domain.alert_lifecycle import AlertHistory
from banktwin.domain.branch import BranchTwin, occupancy, queues
from banktwin.domain.completeness import data_completeness, missing_facts
from banktwin.domain.credit_servicing_rules import days_past_due_at, facility_status
from banktwin.domain.customer import CustomerTwin, FraudAlert, RiskScore
from banktwin.domain.loan import STAGE_SLA_HOURS, LoanTwin, sla_breached, time_in_stage_hours
from banktwin.domain.records import TransactionRecord
from banktwin.domain.spending import spending_windows

View = dict[str, Any]


def risk_view(customer_id: str, risk: RiskScore) -> View:
    return {
        "customerId": customer_id,
        "scoreId": risk.score_id,
        "score": risk.score,
        "modelVersion": risk.model_version,
        "timestamp": risk.scored_at,
        "reasons": [
            {"feature": r.feature, "contribution": r.contribution, "value": r.value}
            for r in risk.reasons
        ],
    }


def credit_view(c: CustomerTwin, at: datetime) -> View:
    """The customer's credit facilities and their delinquency at ``at``."""
    facilities = [
        {
            "facilityId": f.facility_id,
            "currency": f.currency,
            "status": facility_status(f),
            "daysPastDue": days_past_due_at(f, at),
            "missedPayments": f.missed_payments,
            "latePayments": f.late_payments,
            "updatedAt": f.status_at,
            "defaultedAt": f.defaulted_at,
            "defaultedAmount": f.defaulted_amount,
            "chargedOffAt": f.charged_off_at,
            "chargedOffAmount": f.charged_off_amount,
        }
        for f in c.facilities
    ]
    return {
        "maxDaysPastDue": max(
            (days_past_due_at(f, at) for f in c.facilities if f.charged_off_at is None),
            default=0,
        ),
        "missedPaymentCount": sum(f.missed_payments for f in c.facilities),
        "defaultedCount": sum(f.defaulted_at is not None for f in c.facilities),
        "chargedOffCount": sum(f.charged_off_at is not None for f in c.facilities),
        "facilities": facilities,
    }


def alert_view(a: FraudAlert) -> View:
    return {
        "alertId": a.alert_id,
        "customerId": a.customer_id,
        "transactionId": a.transaction_id,
        "severity": a.severity,
        "status": a.status,
        "score": a.score,
        "reasons": list(a.reasons),
        "ruleIds": list(a.rule_ids),
        "raisedAt": a.raised_at,
        "updatedAt": a.updated_at,
    }


def alert_state_view(h: AlertHistory) -> View:
    """An alert as its events in the log make it: the list's fields, version and history."""
    return {
        **alert_view(h.alert),
        "version": h.version,
        "history": [
            {
                "eventId": c.event_id,
                "status": c.status,
                "at": c.at,
                "analyst": c.analyst,
                "note": c.note,
                "source": c.source,
            }
            for c in h.changes
        ],
    }


def alert_context_view(c: CustomerTwin, recent: list[TransactionRecord]) -> View:
    """What an analyst looks at around an alert: the customer's risk, alerts and reports,
    and ``recent``, their newest transactions."""
    return {
        "customerId": c.customer_id,
        "name": c.name,
        "riskScore": None if c.risk is None else c.risk.score,
        "transactionCount": c.transaction_count,
        "alertCount": c.alert_count,
        "openAlertCount": len(c.open_alerts),
        "fraudReportCount": c.fraud_report_count,
        "lastFraudReportAt": c.last_fraud_report_at,
        "recentTransactions": [transaction_view(t) for t in recent],
    }


def transaction_view(t: TransactionRecord) -> View:
    return {
        "transactionId": t.transaction_id,
        "accountId": t.account_id,
        "amount": t.amount,
        "currency": t.currency,
        "direction": t.direction,
        "channel": t.channel,
        "merchant": t.merchant,
        "merchantCategory": t.merchant_category,
        "terminalId": t.terminal_id,
        "cardToken": t.card_token,
        "deviceId": t.device_id,
        "location": None if t.country is None else {"country": t.country, "city": t.city},
        "description": t.description,
        "occurredAt": t.occurred_at,
    }


def loan_view(loan: LoanTwin, at: datetime) -> View:
    return {
        "applicationId": loan.application_id,
        "customerId": loan.customer_id,
        "product": loan.product,
        "amount": loan.amount,
        "currency": loan.currency,
        "termMonths": loan.term_months,
        "channel": loan.channel,
        "branchId": loan.branch_id,
        "stage": loan.stage,
        "stageEnteredAt": loan.stage_entered_at,
        "timeInStageHours": time_in_stage_hours(loan, at),
        "stageSlaHours": STAGE_SLA_HOURS.get(loan.stage),
        "slaBreached": sla_breached(loan, at),
        "slaBreaches": loan.sla_breaches,
        "submittedAt": loan.submitted_at,
        "decision": loan.decision,
        "decisionReason": loan.decision_reason,
        "decidedAt": loan.decided_at,
        "approvedAmount": loan.approved_amount,
        "interestRate": loan.interest_rate,
        "history": [
            {
                "stage": v.stage,
                "enteredAt": v.entered_at,
                "leftAt": v.left_at,
                "slaBreached": v.sla_breached,
            }
            for v in loan.history
        ],
        "lastUpdated": loan.last_updated,
        "version": loan.events_applied,
    }


def customer_view(
    c: CustomerTwin, loans: list[LoanTwin], recent: list[TransactionRecord], at: datetime
) -> View:
    """The seed's profile shape (customerId, name, dob, accounts, riskScore, lastUpdated)
    followed by the rest of the 360° view; ``recent``: the newest transactions, newest first."""
    b = c.behaviour
    windows = spending_windows(c.spending, at)
    return {
        "customerId": c.customer_id,
        "name": c.name,
        "dob": c.dob,
        "accounts": [
            {
                "accountId": a.account_id,
                "balance": a.balance,
                "type": a.type,
                "currency": a.currency,
                "status": a.status,
                "openedAt": a.opened_at,
                "updatedAt": a.updated_at,
            }
            for a in c.accounts
        ],
        "riskScore": None if c.risk is None else c.risk.score,
        "lastUpdated": c.last_updated,
        "version": c.events_applied,
        "email": c.email,
        "address": c.address,
        "phone": c.phone,
        "country": c.country,
        "segment": c.segment,
        "registered": c.registered,
        "consent": {
            "processing": c.consent.processing,
            "marketing": c.consent.marketing,
            "profiling": c.consent.profiling,
            "dataSharing": c.consent.data_sharing,
        },
        "dataCompleteness": data_completeness(c),
        "missingData": missing_facts(c),
        "creditScore": None
        if c.credit is None
        else {
            "score": c.credit.score,
            "bureau": c.credit.bureau,
            "delinquencies": c.credit.delinquencies,
            "receivedAt": c.credit.received_at,
        },
        "credit": credit_view(c, at),
        "risk": None if c.risk is None else risk_view(c.customer_id, c.risk),
        "spending": {
            window: {
                currency: {"count": total.count, "amount": total.amount}
                for currency, total in by_currency.items()
            }
            for window, by_currency in windows.items()
        },
        "transactionCount": c.transaction_count,
        "recentTransactions": [
            {
                "transactionId": t.transaction_id,
                "accountId": t.account_id,
                "amount": t.amount,
                "currency": t.currency,
                "direction": t.direction,
                "channel": t.channel,
                "merchant": t.merchant,
                "merchantCategory": t.merchant_category,
                "country": t.country,
                "occurredAt": t.occurred_at,
            }
            for t in recent
        ],
        "behaviour": {
            "loginCount": b.login_count,
            "failedLoginCount": b.failed_login_count,
            "lockedOutAt": b.locked_out_at,
            "lastLoginAt": b.last_login_at,
            "lastLoginChannel": b.last_login_channel,
            "lastLoginCountry": b.last_login_country,
            "knownDevices": [
                {
                    "deviceId": d.device_id,
                    "platform": d.platform,
                    "firstSeen": d.first_seen,
                    "lastSeen": d.last_seen,
                }
                for d in b.devices
            ],
            "lastNewDeviceAt": b.last_new_device_at,
            "channels": dict(c.channel_counts),
            "countries": dict(c.country_counts),
            "lastTransactionAt": c.last_transaction_at,
        },
        "openAlerts": [alert_view(a) for a in c.open_alerts],
        "alertCount": c.alert_count,
        "fraudReportCount": c.fraud_report_count,
        "lastFraudReportAt": c.last_fraud_report_at,
        "loans": [loan_view(loan, at) for loan in loans],
        "createdAt": c.created_at,
    }


def branch_view(b: BranchTwin, at: datetime) -> View:
    people, ratio = occupancy(b)
    return {
        "branchId": b.branch_id,
        "name": b.name,
        "address": b.address,
        "location": None
        if b.country is None
        else {
            "country": b.country,
            "city": b.city,
            "latitude": b.latitude,
            "longitude": b.longitude,
        },
        "isOpen": b.is_open,
        "statusChangedAt": b.status_changed_at,
        "openHours": dict(b.open_hours),
        "staffAvailable": len(b.staff),
        "staff": [
            {"staffId": s.staff_id, "services": list(s.services), "since": s.since} for s in b.staff
        ],
        "occupancy": {"customers": people, "capacity": b.capacity, "ratio": ratio},
        "queues": [
            {
                "queueId": q.queue_id,
                "service": q.service,
                "available": q.available,
                "length": q.length,
                "staffAvailable": q.staff_available,
                "estimatedWaitMinutes": q.estimated_wait_minutes,
                "avgWaitMinutes": q.avg_wait_minutes,
            }
            for q in queues(b)
        ],
        "services": [
            {
                "service": s.service,
                "available": s.available,
                "avgHandlingMinutes": s.avg_handling_minutes,
                "servedCount": s.served_count,
                "abandonedCount": s.abandoned_count,
            }
            for s in b.services
        ],
        "longestWaitMinutes": round(
            max(((at - t.joined_at).total_seconds() / 60.0 for t in b.waiting), default=0.0), 1
        ),
        "lastUpdated": b.last_updated,
        "version": b.events_applied,
    }
