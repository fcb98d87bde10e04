-- The Nightscout-compatible API (docs/nightscout.md): each device's uploader credentials, the
-- documents uploader apps send (entries, treatments, device status, profiles, settings) as
-- Nightscout returns them, and the key the API v2/v3 access tokens (JWT) are signed with.

-- Only digests are kept: the clear secret and token are shown once, at provisioning. The
-- secret is random (96 bits), so a fast hash is enough; it is kept as SHA-256 of the header
-- forms Nightscout clients send (the lowercase hex SHA-1 and SHA-512 of the secret), so a copy
-- of this table is no header an attacker could send.
CREATE TABLE nightscout_credentials (
    device_id       text PRIMARY KEY REFERENCES devices (id),
    secret_sha1     bytea NOT NULL UNIQUE,
    secret_sha512   bytea NOT NULL UNIQUE,
    token           bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- One patient's Nightscout site: documents are the patient's, whichever of their devices sent
-- them. identifier is the client's (identifier, else _id) or one derived from Nightscout's
-- de-duplication key; dedup_key holds entries' (date, type), and is NULL where Nightscout never
-- de-duplicates (device status).
CREATE TABLE nightscout_documents (
    patient_id      uuid NOT NULL REFERENCES patients (id),
    collection      text NOT NULL CHECK (collection IN
                        ('entries', 'treatments', 'devicestatus', 'profile', 'settings',
                         'activity', 'food')),
    identifier      text NOT NULL CHECK (length(identifier) BETWEEN 1 AND 100),
    device_id       text NOT NULL REFERENCES devices (id),
    date            timestamptz NOT NULL,
    dedup_key       text,
    srv_created     timestamptz NOT NULL DEFAULT clock_timestamp(),
    srv_modified    timestamptz NOT NULL DEFAULT clock_timestamp(),
    is_valid        boolean NOT NULL DEFAULT true,
    doc             jsonb NOT NULL,
    PRIMARY KEY (patient_id, collection, identifier)
);
CREATE UNIQUE INDEX nightscout_documents_dedup
    ON nightscout_documents (patient_id, collection, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX nightscout_documents_date
    ON nightscout_documents (patient_id, collection, date DESC);
CREATE INDEX nightscout_documents_modified
    ON nightscout_documents (patient_id, collection, srv_modified);

CREATE TABLE nightscout_signing_key (
    id      integer PRIMARY KEY CHECK (id = 1),
    key     bytea NOT NULL CHECK (length(key) >= 32)
);
