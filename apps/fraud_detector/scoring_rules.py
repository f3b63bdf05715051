"""The scoring rules. Each adds points, the total is capped at 100, and the same input always gets
the same score.

| rule              | when                                                           | points |
|-------------------|----------------------------------------------------------------|--------|
| blocked_token     | the card token starts with `tok_blocked`                       | 100    |
| very_high_amount  | amount >= 10,000 (in the payment's currency)                   | 60     |
| high_amount       | 1,000 <= amount < 10,000                                       | 25     |
| round_amount      | amount >= 1,000 and a whole multiple of 1,000                  | 15     |
| foreign_currency  | currency outside the home markets (USD, EUR, GBP)              | 10     |
| test_token        | the card token starts with `tok_test`                          | 5      |

payment-processor declines at `FRAUD_DECLINE_THRESHOLD` (default 70) or above. So a blocked token
always declines; 10,000 USD declines; 9,000 EUR (25 + 15 = 40) is approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.common.payments import PaymentRequest

HOME_CURRENCIES = frozenset({"USD", "EUR", "GBP"})
MAX_SCORE = 100
_TEN_THOUSAND = Decimal(10_000)  # made once: a Decimal per comparison per request adds up
_ONE_THOUSAND = Decimal(1_000)


@dataclass(frozen=True)
class Score:
    value: int
    reasons: tuple[str, ...]


def score(payment: PaymentRequest) -> Score:
    points: dict[str, int] = {}
    if payment.card_token.startswith("tok_blocked"):
        points["blocked_token"] = 100
    amount = payment.amount
    if amount >= _TEN_THOUSAND:
        points["very_high_amount"] = 60
    elif amount >= _ONE_THOUSAND:
        points["high_amount"] = 25
    if amount >= _ONE_THOUSAND and amount % _ONE_THOUSAND == 0:
        points["round_amount"] = 15
    if payment.currency not in HOME_CURRENCIES:
        points["foreign_currency"] = 10
    if payment.card_token.startswith("tok_test"):
        points["test_token"] = 5
    return Score(min(MAX_SCORE, sum(points.values())), tuple(points))
