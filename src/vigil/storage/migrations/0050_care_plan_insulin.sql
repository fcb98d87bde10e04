-- A patient's insulin settings (sensitivity factor, carb ratio) for the insulin-on-board
-- forecast; empty means the defaults of vigil.streaming.careplan.InsulinSettings.
ALTER TABLE care_plans ADD COLUMN insulin jsonb NOT NULL DEFAULT '{}';
