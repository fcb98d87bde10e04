-- A service account's role follows the admin console like any staff member's (clinician of
-- its care teams, or admin of the tenant): the check of 0120 that pinned it to clinician made
-- a role change fail in the database instead.
ALTER TABLE users DROP CONSTRAINT users_service_account_clinician;
