-- depeg-monitor PostgreSQL schema, version 4.
-- Generated from depeg_monitor/store/schema.py by `python -m depeg_monitor.store.ddl`;
-- do not edit by hand (tests/store/test_ddl.py fails on any drift).
-- Apply with: psql -v ON_ERROR_STOP=1 -d depeg -f sql/schema.sql
-- or let the program do it: depeg-monitor db upgrade

BEGIN;

CREATE TABLE acks (
    id BIGSERIAL NOT NULL,
    coin VARCHAR(16) NOT NULL,
    episode_since TIMESTAMP WITH TIME ZONE NOT NULL,
    severity SMALLINT NOT NULL,
    acked_by VARCHAR(64) NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_acks_coin ON acks (coin, id);

CREATE TABLE aggregates (
    id BIGSERIAL NOT NULL,
    ts TIMESTAMP WITH TIME ZONE NOT NULL,
    coin VARCHAR(16) NOT NULL,
    resolution VARCHAR(4) NOT NULL,
    price DOUBLE PRECISION,
    price_min DOUBLE PRECISION,
    price_max DOUBLE PRECISION,
    deviation DOUBLE PRECISION,
    venues_used SMALLINT NOT NULL,
    spread DOUBLE PRECISION,
    severity SMALLINT NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_aggregates_coin_res_ts ON aggregates (coin, resolution, ts);
CREATE INDEX ix_aggregates_res_ts ON aggregates (resolution, ts);

CREATE TABLE alerts (
    id VARCHAR(36) NOT NULL,
    ts TIMESTAMP WITH TIME ZONE NOT NULL,
    severity SMALLINT NOT NULL,
    kind VARCHAR(24) NOT NULL,
    coins VARCHAR(200) NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    suppressed VARCHAR(64),
    PRIMARY KEY (id)
);
CREATE INDEX ix_alerts_ts ON alerts (ts);

CREATE TABLE health_history (
    id BIGSERIAL NOT NULL,
    ts TIMESTAMP WITH TIME ZONE NOT NULL,
    component VARCHAR(64) NOT NULL,
    status VARCHAR(8) NOT NULL,
    error TEXT,
    detail JSON,
    PRIMARY KEY (id)
);
CREATE INDEX ix_health_history_ts ON health_history (ts);

CREATE TABLE leases (
    name VARCHAR(32) NOT NULL,
    holder VARCHAR(128) NOT NULL,
    token BIGINT NOT NULL,
    acquired_at TIMESTAMP WITH TIME ZONE NOT NULL,
    renewed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (name)
);

CREATE TABLE quotes (
    id BIGSERIAL NOT NULL,
    ts TIMESTAMP WITH TIME ZONE NOT NULL,
    ts_exchange TIMESTAMP WITH TIME ZONE,
    venue VARCHAR(32) NOT NULL,
    coin VARCHAR(16) NOT NULL,
    quote_ccy VARCHAR(16) NOT NULL,
    price DOUBLE PRECISION NOT NULL,
    bid DOUBLE PRECISION,
    ask DOUBLE PRECISION,
    volume_base_24h DOUBLE PRECISION,
    volume_quote_24h DOUBLE PRECISION,
    PRIMARY KEY (id)
);
CREATE INDEX ix_quotes_coin_ts ON quotes (coin, ts);
CREATE INDEX ix_quotes_ts ON quotes (ts);

CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (version)
);

CREATE TABLE silences (
    id BIGSERIAL NOT NULL,
    coin VARCHAR(16),
    starts_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ends_at TIMESTAMP WITH TIME ZONE NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expired_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id)
);

CREATE TABLE alert_items (
    id BIGSERIAL NOT NULL,
    alert_id VARCHAR(36) NOT NULL,
    coin VARCHAR(16) NOT NULL,
    severity SMALLINT NOT NULL,
    kind VARCHAR(24) NOT NULL,
    price DOUBLE PRECISION,
    deviation DOUBLE PRECISION,
    PRIMARY KEY (id),
    FOREIGN KEY(alert_id) REFERENCES alerts (id) ON DELETE CASCADE
);
CREATE INDEX ix_alert_items_coin ON alert_items (coin, alert_id);

CREATE TABLE deliveries (
    id BIGSERIAL NOT NULL,
    alert_id VARCHAR(36) NOT NULL,
    channel VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    fallback_for VARCHAR(64),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    first_tried_at TIMESTAMP WITH TIME ZONE,
    sent_at TIMESTAMP WITH TIME ZONE,
    claim_token BIGINT,
    PRIMARY KEY (id),
    FOREIGN KEY(alert_id) REFERENCES alerts (id) ON DELETE CASCADE
);
CREATE INDEX ix_deliveries_alert ON deliveries (alert_id);
CREATE INDEX ix_deliveries_status ON deliveries (status);

INSERT INTO schema_version (version, applied_at) VALUES (4, now());
COMMIT;
