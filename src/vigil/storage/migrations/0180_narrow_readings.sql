-- Readings in fewer bytes (issue 28): 314 bytes a reading (heap 105, three indexes 208) to
-- about 100. The rows move to the hypertable reading_rows, whose columns are small keys:
--   time, received_at  timestamptz (8 + 8)
--   patient            integer: reading_patients.id, one per patient uuid (4 instead of 16)
--   device             integer: reading_devices.id, one per device id (4 instead of 9-65)
--   value              real (4 instead of 8): every metric's canonical value, rounded by ingest
--                      to its decimals + 2 (vigil.core.metrics.to_canonical), is within 0.5 ulp
--                      of one float4 below the metric's plausible maximum, so the shortest text
--                      of the float4 gives back the decimal that was stored (the view below)
--   metric             smallint: reading_metrics.id (vigil.core.metrics.METRIC_CODES)
--   censored           text, NULL for an ordinary value (no bytes then)
-- The unit is the metric's canonical one (ingest converts on the way in), kept once per metric
-- in reading_metrics. Ordered by alignment: 8, 8, 4, 4, 4, 2: no padding in a 56-byte tuple.
--
-- One index instead of three: unique (patient, metric, time, device) serves "a patient's metric
-- over a range" and idempotency. A device's reading at an instant belongs to the patient its
-- assignment at that instant names (assignments never overlap), so (device, metric, time)
-- determines the patient and a replay meets the same key; vigil.storage.admin.assign_device
-- refuses to start an assignment before a reading already stored from the device for its
-- current patient, the one change of the past that would let a replay land on another patient.
-- TimescaleDB's default time index is not made: every query of readings names a patient or
-- reads whole recent chunks (retention drops whole chunks, the stream's catch-up reads every
-- reading since a time), and a chunk's time range is its own constraint.
--
-- The view "readings" keeps the old shape for every reader (the joins are on small unique
-- keys; one a query does not use is removed by the planner) and takes INSERT and COPY for
-- loaders and tests through a trigger; ingest writes reading_rows directly.
--
-- Runs on a database with data: every reading is copied, the counts are compared, and a
-- reading whose unit is not its metric's canonical one stops the migration (nothing dropped).

-- No reading written beside the copy (an older ingest still running): writers wait, then fail
-- on the dropped table and retry after the upgrade; readers go on until the drop.
LOCK TABLE readings IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE reading_metrics (
    id      smallint PRIMARY KEY,
    metric  text NOT NULL UNIQUE,
    unit    text NOT NULL
);
-- vigil.core.metrics.METRIC_CODES and the metrics' UCUM units; vigil.storage.migrate keeps
-- this table equal to them (a metric added there gets its row at the next start).
INSERT INTO reading_metrics (id, metric, unit) VALUES
    (1, 'heart_rate', '/min'),
    (2, 'spo2', '%'),
    (3, 'bp_systolic', 'mm[Hg]'),
    (4, 'bp_diastolic', 'mm[Hg]'),
    (5, 'glucose', 'mg/dL'),
    (6, 'body_weight', 'kg'),
    (7, 'body_temperature', 'Cel'),
    (8, 'respiratory_rate', '/min'),
    (9, 'insulin', '[iU]'),
    (10, 'carbs', 'g'),
    (11, 'steps', '/min');

CREATE TABLE reading_patients (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id  uuid NOT NULL UNIQUE
);
CREATE TABLE reading_devices (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id  text NOT NULL UNIQUE
);

DO $$
DECLARE
    bad record;
BEGIN
    SELECT r.metric, r.unit, count(*) AS n INTO bad
    FROM readings r LEFT JOIN reading_metrics m ON m.metric = r.metric
    WHERE m.unit IS DISTINCT FROM r.unit GROUP BY 1, 2 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% readings of % are in % (not a canonical unit): convert them first',
            bad.n, bad.metric, bad.unit;
    END IF;
END
$$;

INSERT INTO reading_patients (patient_id)
SELECT DISTINCT patient_id FROM readings ORDER BY 1;
INSERT INTO reading_devices (device_id)
SELECT DISTINCT device_id FROM readings ORDER BY 1;

CREATE TABLE reading_rows (
    time         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    patient      integer NOT NULL,
    device       integer NOT NULL,
    value        real NOT NULL,
    metric       smallint NOT NULL,
    censored     text CHECK (censored IN ('below', 'above'))
);
SELECT create_hypertable('reading_rows', by_range('time', INTERVAL '7 days'),
                         create_default_indexes => false);

INSERT INTO reading_rows (time, received_at, patient, device, value, metric, censored)
SELECT r.time, r.received_at, p.id, d.id, r.value, m.id, r.censored
FROM readings r
JOIN reading_patients p ON p.patient_id = r.patient_id
JOIN reading_devices d ON d.device_id = r.device_id
JOIN reading_metrics m ON m.metric = r.metric
ORDER BY r.time;

DO $$
DECLARE
    before bigint;
    after bigint;
BEGIN
    SELECT count(*) INTO before FROM readings;
    SELECT count(*) INTO after FROM reading_rows;
    IF before <> after THEN
        RAISE EXCEPTION 'readings: % before, % copied', before, after;
    END IF;
END
$$;

CREATE UNIQUE INDEX reading_rows_key ON reading_rows (patient, metric, time, device);

DROP TABLE readings;  -- its triggers (the glucose day rollups') go with it: made again below

-- The shortest text of a float4 is the decimal it was stored from (see value above).
CREATE VIEW readings AS
SELECT r.time, p.patient_id, m.metric, r.value::text::float8 AS value, m.unit, d.device_id,
       r.received_at, r.censored
FROM reading_rows r
LEFT JOIN reading_patients p ON p.id = r.patient
LEFT JOIN reading_metrics m ON m.id = r.metric
LEFT JOIN reading_devices d ON d.id = r.device;

-- The keys of a patient and a device, made on first sight.
CREATE FUNCTION reading_patient_key(p uuid) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    k integer;
BEGIN
    SELECT id INTO k FROM reading_patients WHERE patient_id = p;
    IF k IS NULL THEN
        INSERT INTO reading_patients (patient_id) VALUES (p) ON CONFLICT DO NOTHING;
        SELECT id INTO k FROM reading_patients WHERE patient_id = p;
    END IF;
    RETURN k;
END
$$;

CREATE FUNCTION reading_device_key(d text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    k integer;
BEGIN
    SELECT id INTO k FROM reading_devices WHERE device_id = d;
    IF k IS NULL THEN
        INSERT INTO reading_devices (device_id) VALUES (d) ON CONFLICT DO NOTHING;
        SELECT id INTO k FROM reading_devices WHERE device_id = d;
    END IF;
    RETURN k;
END
$$;

-- A metric's key, for a reading in its canonical unit.
CREATE FUNCTION reading_metric_key(name text, unit text) RETURNS smallint LANGUAGE plpgsql
STABLE AS $$
DECLARE
    m reading_metrics%ROWTYPE;
BEGIN
    SELECT * INTO m FROM reading_metrics WHERE metric = name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown metric %', name USING ERRCODE = 'check_violation';
    END IF;
    IF unit IS DISTINCT FROM m.unit THEN
        RAISE EXCEPTION '% is stored in %, not %', name, m.unit, unit
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN m.id;
END
$$;

-- INSERT into the view (loaders, tests) becomes one INSERT into reading_rows (a rule: set-based,
-- as fast as the keys' look-ups); COPY into the view goes through a row trigger. Both raise a
-- unique violation on a repeat, as the table did.
CREATE RULE readings_insert AS ON INSERT TO readings DO INSTEAD
    INSERT INTO reading_rows (time, received_at, patient, device, value, metric, censored)
    VALUES (NEW.time, NEW.received_at, reading_patient_key(NEW.patient_id),
            reading_device_key(NEW.device_id), NEW.value,
            reading_metric_key(NEW.metric, NEW.unit), NEW.censored);

-- DELETE from the view (tests, an operator's correction) deletes the rows by their key.
CREATE RULE readings_delete AS ON DELETE TO readings DO INSTEAD
    DELETE FROM reading_rows r USING reading_patients p, reading_metrics m, reading_devices d
    WHERE p.id = r.patient AND m.id = r.metric AND d.id = r.device
      AND p.patient_id = OLD.patient_id AND m.metric = OLD.metric AND r.time = OLD.time
      AND d.device_id = OLD.device_id;

CREATE FUNCTION readings_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reading_rows (time, received_at, patient, device, value, metric, censored)
    VALUES (NEW.time, NEW.received_at, reading_patient_key(NEW.patient_id),
            reading_device_key(NEW.device_id), NEW.value,
            reading_metric_key(NEW.metric, NEW.unit), NEW.censored);
    RETURN NEW;
END
$$;
CREATE TRIGGER readings_copy INSTEAD OF INSERT ON readings
    FOR EACH ROW EXECUTE FUNCTION readings_copy();

-- The clinic list's glucose day generations (0111), on the new rows: the same triggers, the
-- patient's uuid looked up from its key.
CREATE OR REPLACE FUNCTION glucose_day_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM glucose_day_bump(
            (SELECT patient_id FROM reading_patients WHERE id = NEW.patient), NEW.time);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM glucose_day_bump(
            (SELECT patient_id FROM reading_patients WHERE id = OLD.patient), OLD.time);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reading_rows_glucose_day_insert AFTER INSERT ON reading_rows
    FOR EACH ROW WHEN (NEW.metric = 5) EXECUTE FUNCTION glucose_day_touch();
CREATE TRIGGER reading_rows_glucose_day_update AFTER UPDATE ON reading_rows
    FOR EACH ROW WHEN (OLD.metric = 5 OR NEW.metric = 5)
    EXECUTE FUNCTION glucose_day_touch();
CREATE TRIGGER reading_rows_glucose_day_delete AFTER DELETE ON reading_rows
    FOR EACH ROW WHEN (OLD.metric = 5) EXECUTE FUNCTION glucose_day_touch();

-- A chunk's index filled in time order is half empty: each patient's entries grow at their
-- end, so every page split leaves a half page behind that no later reading fills. Once a chunk
-- has closed, vigil.storage.compact_readings rebuilds its index (REINDEX CONCURRENTLY: reads
-- and writes go on) to the fill factor, and notes it here.
CREATE TABLE reading_chunks_compacted (
    chunk         text PRIMARY KEY,  -- schema.name
    compacted_at  timestamptz NOT NULL DEFAULT now()
);
