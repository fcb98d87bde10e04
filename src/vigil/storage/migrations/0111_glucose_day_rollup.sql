-- The clinic list's per-patient, per-UTC-day CGM rollup (vigil.reports.rollup): for each day,
-- the readings' count, sum and sum of squares (mean, SD, CV), and the time-weighted seconds
-- of every reading but the day's last (whose span reaches into the next day: joined at read
-- time), in all and per glucose range; the day's first and last reading.
--
-- Kept correct by a generation per patient and day: every glucose reading inserted, changed
-- or deleted bumps its day's generation in the same transaction, and a rollup row counts only
-- while the generation it was computed from (read in the same statement, the same snapshot)
-- is still the current one. A late reading for a past day thus makes that day's row stale and
-- the next clinic list recomputes it.
CREATE TABLE glucose_day_generations (
    patient_id  uuid NOT NULL,
    day         date NOT NULL,
    generation  bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (patient_id, day)
);

CREATE TABLE glucose_day_rollups (
    patient_id   uuid NOT NULL,
    day          date NOT NULL,
    generation   bigint NOT NULL,
    ranges_key   text NOT NULL,  -- the range limits the seconds were counted with
    readings     integer NOT NULL,
    value_sum    double precision NOT NULL,
    value_sq_sum double precision NOT NULL,
    covered_s    double precision NOT NULL,
    range_s      double precision[] NOT NULL,
    first_time   timestamptz,
    last_time    timestamptz,
    last_value   double precision,
    last_back_s  double precision,  -- the last reading's distance to the one before it
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, day)
);

-- One bump per day and transaction is enough (its readings become visible together with it):
-- a day already bumped by this transaction (its row's xmin) is not bumped again, so a backlog
-- of a day's 288 readings updates the row once, not 288 times.
CREATE FUNCTION glucose_day_bump(p uuid, t timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM glucose_day_generations
                   WHERE patient_id = p AND day = (t AT TIME ZONE 'UTC')::date
                     AND xmin = pg_current_xact_id()::xid) THEN
        INSERT INTO glucose_day_generations AS g (patient_id, day)
        VALUES (p, (t AT TIME ZONE 'UTC')::date)
        ON CONFLICT (patient_id, day) DO UPDATE SET generation = g.generation + 1;
    END IF;
END
$$;

CREATE FUNCTION glucose_day_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN PERFORM glucose_day_bump(NEW.patient_id, NEW.time); END IF;
    IF TG_OP <> 'INSERT' THEN PERFORM glucose_day_bump(OLD.patient_id, OLD.time); END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER readings_glucose_day_insert AFTER INSERT ON readings
    FOR EACH ROW WHEN (NEW.metric = 'glucose') EXECUTE FUNCTION glucose_day_touch();
CREATE TRIGGER readings_glucose_day_update AFTER UPDATE ON readings
    FOR EACH ROW WHEN (OLD.metric = 'glucose' OR NEW.metric = 'glucose')
    EXECUTE FUNCTION glucose_day_touch();
CREATE TRIGGER readings_glucose_day_delete AFTER DELETE ON readings
    FOR EACH ROW WHEN (OLD.metric = 'glucose') EXECUTE FUNCTION glucose_day_touch();
