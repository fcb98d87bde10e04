-- Core schema: tenants, patients, devices and their assignments, readings, rejected messages.
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patients (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    display_name  text NOT NULL,
    conditions    text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patients_tenant ON patients (tenant_id);

-- A device authenticates to the broker as itself: user name = client id = device id.
CREATE TABLE devices (
    id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{3,64}$'),
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    kind                text NOT NULL,
    mqtt_password_hash  text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    revoked_at          timestamptz
);

-- Which patient a device measures, and when: a device can move without reflashing.
CREATE TABLE device_assignments (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices (id),
    patient_id  uuid NOT NULL REFERENCES patients (id),
    valid       tstzrange NOT NULL CHECK (NOT isempty(valid)),
    EXCLUDE USING gist (device_id WITH =, valid WITH &&)
);
CREATE INDEX device_assignments_patient ON device_assignments (patient_id);

CREATE TABLE readings (
    time         timestamptz NOT NULL,
    patient_id   uuid NOT NULL,
    metric       text NOT NULL,
    value        double precision NOT NULL,
    unit         text NOT NULL,
    device_id    text NOT NULL,
    received_at  timestamptz NOT NULL
);
SELECT create_hypertable('readings', by_range('time', INTERVAL '7 days'));
-- Idempotency: a device measures one metric once per instant; a replay inserts nothing.
CREATE UNIQUE INDEX readings_idempotency ON readings (device_id, metric, time);
-- Serves "this patient's metric over a time range".
CREATE INDEX readings_patient_metric_time ON readings (patient_id, metric, time DESC);

CREATE TABLE rejected_messages (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    device_id    text,
    payload      bytea NOT NULL,
    item         integer,
    reason       text NOT NULL,
    -- sha256(topic, payload, item): a replayed rejected message is kept once, like a reading.
    dedup_key    bytea NOT NULL UNIQUE
);
CREATE INDEX rejected_messages_received ON rejected_messages (received_at DESC);
CREATE INDEX rejected_messages_device ON rejected_messages (device_id, received_at DESC);
