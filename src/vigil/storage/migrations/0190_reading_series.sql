-- Readings in 52 bytes of heap and a 28-byte index entry (issue 28: <= 120 bytes a reading as
-- loaded; 126.5 after 0180). A reading's patient, metric and device become one key, its
-- series (reading_series: one row per patient uuid, metric and device id, made on first
-- sight; it replaces 0180's reading_patients and reading_devices), so reading_rows holds
--   time, received_at  timestamptz (8 + 8)
--   series             integer (4): reading_series.id
--   value              real (4)
--   censored           text, NULL for an ordinary value (no bytes then)
-- 24 bytes of data after the 24-byte tuple header: 48 a tuple (56 before, whose 30 bytes of
-- data were rounded up to 32), 52 with its line pointer.
--
-- The one index is unique (series, time): the same key as 0180's (patient, metric, time,
-- device), in 16 bytes of key instead of 24. An entry of 24 bytes + its line pointer is also
-- the widest that PostgreSQL's B-tree treats as a "localized monotonically increasing"
-- insertion (nbtsplitloc.c: at most two int8s): a page whose last series is the one being
-- written splits at the fill factor instead of in the middle, so fewer half-empty pages are
-- left behind while a chunk is written.
--
-- Readers keep their SQL: the view readings joins reading_series and reading_metrics (LEFT
-- JOINs on unique keys, removed by the planner when a query does not use them; a condition on
-- patient_id and metric finds the patient's series by reading_series' unique (patient_id,
-- metric, device_id), then each series' range by the index). Two joins where 0180 had three:
-- less to plan. The view's INSERT / UPDATE / DELETE rules and COPY trigger take the series key
-- from reading_series_key.
--
-- On a database with data: every reading is copied into the new table in time order, the
-- counts are compared (nothing dropped if they differ), then the old table is dropped. The old
-- table is locked SHARE ROW EXCLUSIVE throughout: reads go on, writers (ingest, the Nightscout
-- API) wait and retry with their messages unacknowledged (nothing is lost). docs/ingest.md
-- gives the copy's measured rate: plan a big database's upgrade for a quiet hour.

LOCK TABLE reading_rows IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE reading_series (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id uuid NOT NULL,
    metric     smallint NOT NULL REFERENCES reading_metrics (id),
    device_id  text NOT NULL,
    UNIQUE (patient_id, metric, device_id)
);

INSERT INTO reading_series (patient_id, metric, device_id)
SELECT p.patient_id, k.metric, d.device_id
FROM (SELECT DISTINCT patient, metric, device FROM reading_rows) k
JOIN reading_patients p ON p.id = k.patient
JOIN reading_devices d ON d.id = k.device
ORDER BY 1, 2, 3;

ALTER TABLE reading_rows RENAME TO reading_rows_0180;
ALTER INDEX reading_rows_key RENAME TO reading_rows_0180_key;
DROP VIEW readings;  -- its rules and COPY trigger go with it: made again below

CREATE TABLE reading_rows (
    time         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    series       integer NOT NULL,
    value        real NOT NULL,
    censored     text CHECK (censored IN ('below', 'above'))
);
SELECT create_hypertable('reading_rows', by_range('time', INTERVAL '7 days'),
                         create_default_indexes => false);

INSERT INTO reading_rows (time, received_at, series, value, censored)
SELECT r.time, r.received_at, s.id, r.value, r.censored
FROM reading_rows_0180 r
JOIN reading_patients p ON p.id = r.patient
JOIN reading_devices d ON d.id = r.device
JOIN reading_series s
  ON s.patient_id = p.patient_id AND s.metric = r.metric AND s.device_id = d.device_id
ORDER BY r.time;

DO $$
DECLARE
    before bigint;
    after bigint;
BEGIN
    SELECT count(*) INTO before FROM reading_rows_0180;
    SELECT count(*) INTO after FROM reading_rows;
    IF before <> after THEN
        RAISE EXCEPTION 'reading_rows: % before, % copied', before, after;
    END IF;
END
$$;

-- Built once over the copied rows: every chunk's index is already as full as a rebuild makes it.
CREATE UNIQUE INDEX reading_rows_key ON reading_rows (series, time);
DELETE FROM reading_chunks_compacted;
INSERT INTO reading_chunks_compacted (chunk)
SELECT chunk_schema || '.' || chunk_name FROM timescaledb_information.chunks
WHERE hypertable_schema = 'public' AND hypertable_name = 'reading_rows'
  AND range_end < now() - interval '1 hour';

DROP TABLE reading_rows_0180;  -- its generation triggers go with it: made again below
DROP FUNCTION reading_patient_key(uuid);
DROP FUNCTION reading_device_key(text);
DROP TABLE reading_patients;
DROP TABLE reading_devices;

-- The shortest text of a float4 is the decimal it was stored from (0180).
CREATE VIEW readings AS
SELECT r.time, s.patient_id, m.metric, r.value::text::float8 AS value, m.unit, s.device_id,
       r.received_at, r.censored
FROM reading_rows r
LEFT JOIN reading_series s ON s.id = r.series
LEFT JOIN reading_metrics m ON m.id = s.metric;

-- The series of a patient's metric from a device, made on first sight; a metric's unit must be
-- its canonical one (reading_metric_key, 0180).
CREATE FUNCTION reading_series_key(p uuid, name text, unit text, d text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    mk smallint := reading_metric_key(name, unit);
    k integer;
BEGIN
    SELECT id INTO k FROM reading_series WHERE patient_id = p AND metric = mk AND device_id = d;
    IF k IS NULL THEN
        INSERT INTO reading_series (patient_id, metric, device_id) VALUES (p, mk, d)
            ON CONFLICT DO NOTHING;
        SELECT id INTO k FROM reading_series
        WHERE patient_id = p AND metric = mk AND device_id = d;
    END IF;
    RETURN k;
END
$$;

-- INSERT into the view (loaders, tests): one INSERT into reading_rows; a repeat raises a unique
-- violation, as before.
CREATE RULE readings_insert AS ON INSERT TO readings DO INSTEAD
    INSERT INTO reading_rows (time, received_at, series, value, censored)
    VALUES (NEW.time, NEW.received_at,
            reading_series_key(NEW.patient_id, NEW.metric, NEW.unit, NEW.device_id),
            NEW.value, NEW.censored);

-- DELETE and UPDATE through the view change the rows by their key.
CREATE RULE readings_delete AS ON DELETE TO readings DO INSTEAD
    DELETE FROM reading_rows r
    USING reading_series s, reading_metrics m
    WHERE s.id = r.series AND m.id = s.metric
      AND s.patient_id = OLD.patient_id AND m.metric = OLD.metric AND r.time = OLD.time
      AND s.device_id = OLD.device_id;

CREATE RULE readings_update AS ON UPDATE TO readings DO INSTEAD
    UPDATE reading_rows r
    SET time = NEW.time, received_at = NEW.received_at, value = NEW.value,
        censored = NEW.censored,
        series = reading_series_key(NEW.patient_id, NEW.metric, NEW.unit, NEW.device_id)
    FROM reading_series s, reading_metrics m
    WHERE s.id = r.series AND m.id = s.metric
      AND s.patient_id = OLD.patient_id AND m.metric = OLD.metric AND r.time = OLD.time
      AND s.device_id = OLD.device_id;

CREATE OR REPLACE FUNCTION readings_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reading_rows (time, received_at, series, value, censored)
    VALUES (NEW.time, NEW.received_at,
            reading_series_key(NEW.patient_id, NEW.metric, NEW.unit, NEW.device_id),
            NEW.value, NEW.censored);
    RETURN NEW;
END
$$;
CREATE TRIGGER readings_copy INSTEAD OF INSERT ON readings
    FOR EACH ROW EXECUTE FUNCTION readings_copy();

-- The clinic list's glucose generations (0181), once per statement, the patient and metric
-- read through the row's series.
CREATE OR REPLACE FUNCTION reading_rows_generations_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    glucose smallint := (SELECT id FROM reading_metrics WHERE metric = 'glucose');
    pids uuid[];
    days date[];
    masks bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT s.patient_id, (r.time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM r.time AT TIME ZONE 'UTC')::int) AS mask
              FROM new_rows r JOIN reading_series s ON s.id = r.series
              WHERE s.metric = glucose GROUP BY 1, 2) k;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT s.patient_id, (r.time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM r.time AT TIME ZONE 'UTC')::int) AS mask
              FROM (SELECT series, time FROM old_rows
                    UNION ALL SELECT series, time FROM new_rows) r
              JOIN reading_series s ON s.id = r.series
              WHERE s.metric = glucose GROUP BY 1, 2) k;
    ELSE
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT s.patient_id, (r.time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM r.time AT TIME ZONE 'UTC')::int) AS mask
              FROM old_rows r JOIN reading_series s ON s.id = r.series
              WHERE s.metric = glucose GROUP BY 1, 2) k;
    END IF;
    IF pids IS NOT NULL THEN
        PERFORM glucose_generations_bump(pids, days, masks);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reading_rows_generations_insert AFTER INSERT ON reading_rows
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reading_rows_generations_touch();
CREATE TRIGGER reading_rows_generations_update AFTER UPDATE ON reading_rows
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reading_rows_generations_touch();
CREATE TRIGGER reading_rows_generations_delete AFTER DELETE ON reading_rows
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reading_rows_generations_touch();
