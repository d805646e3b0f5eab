"""A worked example of the body of every request that sends one, shown in /api/docs/ and in the schema.

Kept in one table by operation id (rather than on each view) so that a test can check that every
operation with a body has one and that each names only fields the operation takes. The figures are
the README's: a field partner's loan 17 of $500 in six monthly repayments, and so on.
"""

from __future__ import annotations

from typing import Any

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "v1_schedule_preview_create": {
        "principal": "500.00",
        "currency": "USD",
        "annual_interest_rate": "0",
        "interest_method": "none",
        "repayments": 6,
        "repayment_every": 1,
        "repayment_frequency": "months",
        "disbursement_date": "2026-11-27",
    },
    "v1_loans_drafts_create": {
        "borrower": 1,
        "amount_cents": 50000,
        "currency": "USD",
        "purpose": "Sewing machine",
        "sector": "clothing",
        "repayments": 6,
        "repayment_frequency": "months",
        "borrower_gender": "female",
        "fundraising_days": 30,
    },
    "v1_loans_drafts_partial_update": {"amount_cents": 45000, "purpose": "A second-hand sewing machine"},
    "v1_loans_drafts_cancel_create": {"reason": "The borrower found the money elsewhere"},
    "v1_loans_approve_create": {"reason": "Visited the shop; references checked"},
    "v1_loans_reject_create": {"reason": "The business plan does not cover the repayments"},
    "v1_loans_disburse_create": {"disbursed_on": "2026-11-27", "first_repayment_date": "2026-12-27"},
    "v1_loans_refund_create": {"reason": "The partner disbursed to the wrong borrower"},
    "v1_loans_write_off_create": {"reason": "The borrower's shop burned down; the partner confirmed no recovery"},
    "v1_loans_repayments_create": {
        "amount_cents": 8334,
        "currency": "USD",
        "received_on": "2026-11-27",
        "source": "partner",
    },
    "v1_loans_card_repayments_create": {"amount_cents": 8334},
    "v1_loans_shares_create": {"amount_cents": 2500},
    "v1_wallet_deposits_create": {"amount_cents": 5000},
    "v1_wallet_withdrawals_create": {"amount_cents": 2500},
    "v1_borrowers_create": {"display_name": "Grace N.", "country": "KE", "town": "Kisumu"},
    "v1_auto_lending_update": {
        "enabled": True,
        "sectors": ["agriculture", "food"],
        "countries": ["KE", "UG"],
        "max_per_loan_cents": 2500,
        "idle_days": 7,
    },
    "v1_auto_lending_dry_run_create": {"sectors": ["education"], "max_per_loan_cents": 5000},
    "v1_webhooks_endpoints_create": {
        "url": "https://mis.example.org/hooks/lending",
        "description": "MIS",
        "event_types": ["loan.funded", "loan.disbursed", "repayment.recorded", "loan.late", "loan.defaulted"],
    },
    "v1_webhooks_endpoints_partial_update": {"active": False},
    "v1_webhooks_endpoints_rotate_secret_create": {"previous_secret_valid_hours": 24},
}


def add_request_examples(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: put each operation's example on its JSON request body."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            example = REQUEST_EXAMPLES.get(operation.get("operationId", ""))
            content = operation.get("requestBody", {}).get("content", {})
            if example is not None and "application/json" in content:
                content["application/json"]["examples"] = {
                    "example": {"summary": "A typical request", "value": example}
                }
    return result
