-- The care team's own instruction for each kind of dangerous reading, in both languages
-- ({"spo2_low": {"ko": "...", "en": "..."}}): the patient's feed shows it in place of the
-- default guidance (vigil.clinical.guidance).
ALTER TABLE care_plans ADD COLUMN instructions jsonb NOT NULL DEFAULT '{}';
