-- The patient feed: items the coaching module writes from a patient's own data (weekly
-- summaries against their targets, streaks, gentle reminders). One row per (patient, key):
-- a week's summary is rewritten as the week fills in, a day's reminder is written once.
CREATE TABLE feed_items (
    patient_id  uuid NOT NULL REFERENCES patients (id),
    key         text NOT NULL,
    kind        text NOT NULL,
    time        timestamptz NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    tone        text NOT NULL CHECK (tone IN ('good', 'note', 'neutral')),
    data        jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, key)
);
CREATE INDEX feed_items_patient_time ON feed_items (patient_id, time DESC);
GRANT SELECT, INSERT, UPDATE ON feed_items TO vigil_api;
