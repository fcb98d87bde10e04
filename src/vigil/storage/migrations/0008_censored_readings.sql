-- A CGM shows LOW below its range and HIGH above it (Dexcom: 40 and 400 mg/dL). Such a reading
-- is stored at the bound (value 40 or 400 mg/dL, so a detector sees "at most 40" / "at least
-- 400" as the bound itself) with censored saying which side: 'below' or 'above'; NULL for an
-- ordinary measured value. The bounds live in vigil.core.metrics (CGM_LOW_MGDL, CGM_HIGH_MGDL).
ALTER TABLE readings ADD COLUMN censored text CHECK (censored IN ('below', 'above'));
ALTER TABLE latest_readings ADD COLUMN censored text CHECK (censored IN ('below', 'above'));
