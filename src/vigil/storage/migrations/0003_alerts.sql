-- Alerts: one open alert per patient and cause, an append-only event trail, and a
-- transactional outbox of webhook deliveries written in the same transaction as the change.

CREATE TABLE alerts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    patient_id        uuid NOT NULL REFERENCES patients (id),
    cause             text NOT NULL,
    metrics           text[] NOT NULL DEFAULT '{}',
    detector          text NOT NULL,
    state             text NOT NULL DEFAULT 'open'
                      CHECK (state IN ('open', 'acknowledged', 'snoozed', 'resolved')),
    severity          smallint NOT NULL,
    score             double precision NOT NULL DEFAULT 0,
    finding_count     integer NOT NULL DEFAULT 1,
    first_seen        timestamptz NOT NULL,
    last_seen         timestamptz NOT NULL,
    last_value        double precision,
    explanation       jsonb NOT NULL,
    data_age_s        double precision NOT NULL DEFAULT 0,
    opened_at         timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    acknowledged_at   timestamptz,
    acknowledged_by   uuid,
    snoozed_until     timestamptz,
    resolved_at       timestamptz,
    resolved_by       uuid,
    outcome           text CHECK (outcome IN
                      ('actionable', 'not_actionable', 'false_reading', 'duplicate',
                       'answered_by_data')),
    escalation_level  smallint NOT NULL DEFAULT 0,
    escalate_at       timestamptz,
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK (state <> 'snoozed' OR snoozed_until IS NOT NULL)
);
-- The rule "one open alert per patient and cause", enforced by the database.
CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (patient_id, cause) WHERE state <> 'resolved';
CREATE INDEX alerts_inbox ON alerts (tenant_id, updated_at DESC);
CREATE INDEX alerts_patient ON alerts (patient_id, opened_at DESC);
CREATE INDEX alerts_recently_resolved ON alerts (patient_id, cause, resolved_at DESC)
    WHERE state = 'resolved';
CREATE INDEX alerts_escalate ON alerts (escalate_at) WHERE escalate_at IS NOT NULL;
CREATE INDEX alerts_snoozed ON alerts (snoozed_until) WHERE state = 'snoozed';

CREATE TABLE alert_events (
    id             bigserial PRIMARY KEY,
    alert_id       uuid NOT NULL REFERENCES alerts (id),
    at             timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL,
    actor_user_id  uuid,
    from_state     text,
    to_state       text,
    severity       smallint,
    note           text,
    details        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

-- Receivers of notifications. level 0 hears new alerts; level n hears escalation to level n.
CREATE TABLE webhooks (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    url           text NOT NULL CHECK (url ~ '^https?://'),
    secret        text NOT NULL,
    level         smallint NOT NULL DEFAULT 0 CHECK (level >= 0),
    min_severity  smallint NOT NULL DEFAULT 0,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, level) WHERE active;

CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    alert_id    uuid NOT NULL REFERENCES alerts (id),
    kind        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_alert ON outbox (alert_id);

CREATE TABLE deliveries (
    id               bigserial PRIMARY KEY,
    outbox_id        bigint NOT NULL REFERENCES outbox (id),
    webhook_id       uuid NOT NULL REFERENCES webhooks (id),
    idempotency_key  uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (outbox_id, webhook_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_state ON deliveries (state, created_at DESC);
