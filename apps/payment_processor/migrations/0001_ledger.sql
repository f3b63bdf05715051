-- The payment ledger: one row per payment and one per idempotency key, written in one transaction.
-- Runs as the group role payments_ledger (SET ROLE), which owns schema ledger and everything in it,
-- so both login users of the alternating-users rotation can use every object.

CREATE TABLE ledger.payments (
    payment_id uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    status text NOT NULL CHECK (status IN ('approved', 'declined')),
    amount numeric(15, 3) NOT NULL CHECK (amount > 0),
    currency char(3) NOT NULL,
    card_token text NOT NULL,
    risk_score smallint NOT NULL CHECK (risk_score BETWEEN 0 AND 100),
    risk_reasons jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The key row is written first, and its uncommitted insert is what a concurrent request with the
-- same key waits on; the payment it names is inserted later in the same transaction, hence the
-- deferred foreign key (checked at COMMIT).
CREATE TABLE ledger.idempotency_keys (
    idempotency_key text PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 8 AND 255),
    request_fingerprint text NOT NULL,
    payment_id uuid NOT NULL UNIQUE
        REFERENCES ledger.payments (payment_id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payments_created_at ON ledger.payments (created_at);
