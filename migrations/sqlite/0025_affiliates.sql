-- Affiliates: a creator's commission for people who bring buyers to a product, each person's
-- link per product (a unique code), its clicks, the sign-ups it brought (attributed within the
-- cookie window) and the sales it earned. See docs/billing.md.
ALTER TABLE prices ADD COLUMN affiliate_bps INTEGER NOT NULL DEFAULT 0;
CREATE TABLE affiliate_links (
    code TEXT PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, product)
);
CREATE TABLE affiliate_clicks (
    id BLOB PRIMARY KEY,
    code TEXT NOT NULL REFERENCES affiliate_links(code) ON DELETE CASCADE,
    at TEXT NOT NULL
);
CREATE INDEX affiliate_clicks_code ON affiliate_clicks (code, at);
-- The link a person signed up through (the first one wins).
CREATE TABLE affiliate_referrals (
    user_id BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    code TEXT NOT NULL REFERENCES affiliate_links(code) ON DELETE CASCADE,
    at TEXT NOT NULL
);
CREATE INDEX affiliate_referrals_code ON affiliate_referrals (code);
ALTER TABLE checkouts ADD COLUMN affiliate_code TEXT;
ALTER TABLE payments ADD COLUMN affiliate_code TEXT;
ALTER TABLE payments ADD COLUMN affiliate_share BIGINT NOT NULL DEFAULT 0;
CREATE INDEX payments_affiliate ON payments (affiliate_code);
