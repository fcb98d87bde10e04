-- The patient identity header (issue 14): date of birth and the hospital's record number
-- (unique in a tenant), both optional for patients enrolled before.
ALTER TABLE patients ADD COLUMN birth_date date;
ALTER TABLE patients ADD COLUMN record_number text;
CREATE UNIQUE INDEX patients_record_number ON patients (tenant_id, record_number)
    WHERE record_number IS NOT NULL;
-- An alert assigned to one of the tenant's staff (the API checks the assignee's tenant and role).
ALTER TABLE alerts ADD COLUMN assigned_to uuid REFERENCES users (id);
