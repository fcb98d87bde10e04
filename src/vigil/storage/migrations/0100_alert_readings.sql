-- The readings an alert's card shows, each with its time: the one that opened the episode,
-- the latest and the worst ({"opened": {...}, "latest": {...}, "worst": {...}}); a reading is
-- its metric, value, systolic/diastolic for blood pressure, and a device's LOW/HIGH mark.
-- Alerts opened before this column have '{}' and show their last and worst values.
ALTER TABLE alerts ADD COLUMN readings jsonb NOT NULL DEFAULT '{}';
