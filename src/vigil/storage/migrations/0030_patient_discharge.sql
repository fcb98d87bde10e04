-- A discharged patient is kept (their record and audit trail stay) but leaves monitoring:
-- their devices' assignments end at discharge; the admin console shows when and who.
ALTER TABLE patients ADD COLUMN discharged_at timestamptz;
ALTER TABLE patients ADD COLUMN discharged_by uuid REFERENCES users (id);
