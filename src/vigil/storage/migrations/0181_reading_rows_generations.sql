-- The clinic list's glucose generations (0160) on reading_rows, once per statement again: 0180
-- moved the readings to reading_rows and made 0111's per-row triggers there, a PL/pgSQL call
-- and two look-ups per glucose row, which 0160 had replaced by one grouped upsert per
-- statement from its transition tables. reading_rows is a new table without a dropped column,
-- so its transition tables read right on every TimescaleDB that has them (see 0160).
DROP TRIGGER reading_rows_glucose_day_insert ON reading_rows;
DROP TRIGGER reading_rows_glucose_day_update ON reading_rows;
DROP TRIGGER reading_rows_glucose_day_delete ON reading_rows;

-- The (patient, UTC day, hours touched) of a statement's glucose rows, bumped in key order.
CREATE FUNCTION reading_rows_generations_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    glucose smallint := (SELECT id FROM reading_metrics WHERE metric = 'glucose');
    pids uuid[];
    days date[];
    masks bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT p.patient_id, (r.time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM r.time AT TIME ZONE 'UTC')::int) AS mask
              FROM new_rows r JOIN reading_patients p ON p.id = r.patient
              WHERE r.metric = glucose GROUP BY 1, 2) k;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT p.patient_id, (r.time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM r.time AT TIME ZONE 'UTC')::int) AS mask
              FROM (SELECT patient, time, metric FROM old_rows
                    UNION ALL SELECT patient, time, metric FROM new_rows) r
              JOIN reading_patients p ON p.id = r.patient
              WHERE r.metric = glucose GROUP BY 1, 2) k;
    ELSE
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT p.patient_id, (r.time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM r.time AT TIME ZONE 'UTC')::int) AS mask
              FROM old_rows r JOIN reading_patients p ON p.id = r.patient
              WHERE r.metric = glucose GROUP BY 1, 2) k;
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

-- UPDATE through the view (an operator's correction of a time or a value; the clinic list's
-- tests move readings between hours) changes the row by its key, as DELETE does (0180).
CREATE RULE readings_update AS ON UPDATE TO readings DO INSTEAD
    UPDATE reading_rows r
    SET time = NEW.time, received_at = NEW.received_at, value = NEW.value,
        censored = NEW.censored, patient = reading_patient_key(NEW.patient_id),
        device = reading_device_key(NEW.device_id),
        metric = reading_metric_key(NEW.metric, NEW.unit)
    FROM reading_patients p, reading_metrics m, reading_devices d
    WHERE p.id = r.patient AND m.id = r.metric AND d.id = r.device
      AND p.patient_id = OLD.patient_id AND m.metric = OLD.metric AND r.time = OLD.time
      AND d.device_id = OLD.device_id;
