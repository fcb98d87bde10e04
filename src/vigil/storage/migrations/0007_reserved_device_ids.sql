-- Device ids beginning with 'vigil-' or 'vigil_' (in any case) are Vigil's own broker users
-- (ingest and the other services): a device holding one would share the service's password-file
-- name, ACL and persistent session. The rule's home is vigil.core.identities; this is its
-- database copy.

-- A device that already holds such an id is revoked (its broker line goes, its assignment ends)
-- rather than left able to connect; the check is NOT VALID so those rows stay as history.
UPDATE device_assignments SET valid = tstzrange(lower(valid), now())
 WHERE upper_inf(valid) AND lower(valid) < now()
   AND device_id IN (SELECT id FROM devices WHERE left(lower(id), 6) IN ('vigil-', 'vigil_'));
UPDATE devices SET revoked_at = now()
 WHERE revoked_at IS NULL AND left(lower(id), 6) IN ('vigil-', 'vigil_');

ALTER TABLE devices ADD CONSTRAINT devices_id_not_reserved
    CHECK (left(lower(id), 6) NOT IN ('vigil-', 'vigil_')) NOT VALID;
