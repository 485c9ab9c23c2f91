-- Partial refunds and disputes: how much of a payment has been given back so far. A payment stays
-- `paid` until all of it has been (then `refunded`). See docs/billing.md.
ALTER TABLE payments ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0;
UPDATE payments SET refunded_amount = amount WHERE status = 'refunded';
