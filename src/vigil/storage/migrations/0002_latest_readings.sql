-- Each patient's latest value of each metric, kept by ingest in the same transaction as the
-- readings: the care team's list reads one row per patient and metric instead of probing the
-- readings hypertable's chunks for every metric of every patient.
CREATE TABLE latest_readings (
    patient_id  uuid NOT NULL,
    metric      text NOT NULL,
    time        timestamptz NOT NULL,
    value       double precision NOT NULL,
    unit        text NOT NULL,
    device_id   text NOT NULL,
    PRIMARY KEY (patient_id, metric)
);

INSERT INTO latest_readings (patient_id, metric, time, value, unit, device_id)
SELECT DISTINCT ON (patient_id, metric) patient_id, metric, time, value, unit, device_id
FROM readings ORDER BY patient_id, metric, time DESC;
