-- The clinic list's hour rollups (vigil.reports.rollup): the whole UTC hours of a period's
-- partial first and last days come from stored rows, as its whole days do from
-- glucose_day_rollups (0111); only the partial first and last hours are read live.
--
-- An hour row counts while its hour is unchanged since it was computed: each day's generation
-- row (0111) now also holds, per UTC hour of the day, the day's generation at the last change
-- of a glucose reading in that hour (0 if none). A reading late into an hour makes that hour's
-- row stale (and its day's), not the other hours of the day: today's hours already rolled up
-- stay current while today's readings arrive.
ALTER TABLE glucose_day_generations ADD COLUMN hour_generations bigint[];
UPDATE glucose_day_generations SET hour_generations = array_fill(generation, ARRAY[24]);
ALTER TABLE glucose_day_generations ALTER COLUMN hour_generations SET NOT NULL;

CREATE TABLE glucose_hour_rollups (
    patient_id   uuid NOT NULL,
    hour         timestamptz NOT NULL,  -- the hour's start, on a UTC hour
    generation   bigint NOT NULL,  -- its entry in the day's hour_generations when computed
    ranges_hash  bigint NOT NULL,  -- the range limits and cap the seconds were counted with
    readings     integer NOT NULL,
    value_sum    double precision NOT NULL,
    value_sq_sum double precision NOT NULL,
    covered_s    double precision NOT NULL,
    range_s      double precision[] NOT NULL,
    first_time   timestamptz,
    last_time    timestamptz,
    last_value   double precision,
    last_back_s  double precision,
    PRIMARY KEY (patient_id, hour)
);

-- The entries of `touched` above 0 set to `gen`, the others kept from `old`.
CREATE FUNCTION glucose_hours_merge(old bigint[], gen bigint, touched bigint[])
RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(CASE WHEN t > 0 THEN gen ELSE o END ORDER BY i)
    FROM unnest(old, touched) WITH ORDINALITY AS u(o, t, i)
$$;

-- Whether every entry of `touched` above 0 is already `gen` in `old`.
CREATE FUNCTION glucose_hours_marked(old bigint[], gen bigint, touched bigint[])
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT bool_and(t = 0 OR o = gen) FROM unnest(old, touched) AS u(o, t)
$$;

-- Bumps the generation of every (patient, UTC day) given (a patient, a day and the bit mask
-- of the day's UTC hours touched), once per row, in key order (concurrent writers lock the
-- rows in the same order). A row this transaction already bumped (its xmin) keeps its
-- generation and gets the newly touched hours marked with it; one with every touched hour
-- marked already is left alone, so a transaction of many statements writes each row once.
CREATE FUNCTION glucose_generations_bump(pids uuid[], days date[], masks bigint[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO glucose_day_generations AS g (patient_id, day, generation, hour_generations)
    SELECT k.patient_id, k.day, 1,
           ARRAY(SELECT (k.mask >> h) & 1 FROM generate_series(0, 23) h ORDER BY h)
    FROM unnest(pids, days, masks) AS k(patient_id, day, mask)
    ORDER BY k.patient_id, k.day
    ON CONFLICT (patient_id, day) DO UPDATE SET
        generation = CASE WHEN g.xmin = pg_current_xact_id()::xid THEN g.generation
                          ELSE g.generation + 1 END,
        hour_generations = glucose_hours_merge(
            g.hour_generations,
            CASE WHEN g.xmin = pg_current_xact_id()::xid THEN g.generation
                 ELSE g.generation + 1 END,
            excluded.hour_generations)
    WHERE NOT (g.xmin = pg_current_xact_id()::xid
               AND glucose_hours_marked(g.hour_generations, g.generation,
                                        excluded.hour_generations))
$$;

-- Once per statement, from its transition tables (TimescaleDB >= 2.18 has them on
-- hypertables): the 0111 row triggers cost a PL/pgSQL call and a lookup per glucose row.
CREATE FUNCTION glucose_generations_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pids uuid[];
    days date[];
    masks bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT patient_id, (time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM time AT TIME ZONE 'UTC')::int) AS mask
              FROM new_rows WHERE metric = 'glucose' GROUP BY 1, 2) k;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT patient_id, (time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM time AT TIME ZONE 'UTC')::int) AS mask
              FROM (SELECT patient_id, time, metric FROM old_rows
                    UNION ALL SELECT patient_id, time, metric FROM new_rows) r
              WHERE metric = 'glucose' GROUP BY 1, 2) k;
    ELSE
        SELECT array_agg(patient_id), array_agg(day), array_agg(mask) INTO pids, days, masks
        FROM (SELECT patient_id, (time AT TIME ZONE 'UTC')::date AS day,
                     bit_or(1::bigint << extract(hour FROM time AT TIME ZONE 'UTC')::int) AS mask
              FROM old_rows WHERE metric = 'glucose' GROUP BY 1, 2) k;
    END IF;
    IF pids IS NOT NULL THEN
        PERFORM glucose_generations_bump(pids, days, masks);
    END IF;
    RETURN NULL;
END
$$;

-- 0111's one-reading bump, kept for row triggers (glucose_day_touch): it marks the reading's
-- hour too, and is a lookup only when this transaction has marked that hour already.
CREATE OR REPLACE FUNCTION glucose_day_bump(p uuid, t timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d date := (t AT TIME ZONE 'UTC')::date;
    h integer := extract(hour FROM t AT TIME ZONE 'UTC')::integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM glucose_day_generations
                   WHERE patient_id = p AND day = d AND xmin = pg_current_xact_id()::xid
                     AND hour_generations[h + 1] = generation) THEN
        PERFORM glucose_generations_bump(ARRAY[p], ARRAY[d], ARRAY[1::bigint << h]);
    END IF;
END
$$;

DROP TRIGGER readings_glucose_day_insert ON readings;
DROP TRIGGER readings_glucose_day_update ON readings;
DROP TRIGGER readings_glucose_day_delete ON readings;

CREATE TRIGGER readings_glucose_generations_insert AFTER INSERT ON readings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION glucose_generations_touch();
CREATE TRIGGER readings_glucose_generations_update AFTER UPDATE ON readings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION glucose_generations_touch();
CREATE TRIGGER readings_glucose_generations_delete AFTER DELETE ON readings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION glucose_generations_touch();
