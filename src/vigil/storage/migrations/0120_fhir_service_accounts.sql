-- A service account: a user an EMR or a research system calls the FHIR read API as, with a
-- bearer token an administrator created (its hash stored, the token shown once). It sees what
-- a clinician of its care teams sees, it has no password anyone knows, and the REST API and
-- the dashboard refuse its token: it reads /fhir/r4 only.
ALTER TABLE users ADD COLUMN service_account boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD CONSTRAINT users_service_account_clinician
    CHECK (NOT service_account OR role = 'clinician');
