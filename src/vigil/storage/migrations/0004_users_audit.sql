-- Users and bearer tokens, care teams, care plans, the audit log, and the API's database role.

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    email          text NOT NULL,
    display_name   text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'clinician', 'patient')),
    password_hash  text NOT NULL,
    patient_id     uuid REFERENCES patients (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz,
    CHECK ((role = 'patient') = (patient_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE UNIQUE INDEX users_patient ON users (patient_id) WHERE patient_id IS NOT NULL;

-- Opaque bearer tokens: only their SHA-256 is stored.
CREATE TABLE api_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE care_teams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE care_team_members (
    team_id  uuid NOT NULL REFERENCES care_teams (id),
    user_id  uuid NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX care_team_members_user ON care_team_members (user_id);

CREATE TABLE care_team_patients (
    team_id     uuid NOT NULL REFERENCES care_teams (id),
    patient_id  uuid NOT NULL REFERENCES patients (id),
    PRIMARY KEY (team_id, patient_id)
);
CREATE INDEX care_team_patients_patient ON care_team_patients (patient_id);

-- A patient's targets and detector thresholds, set by the care team.
CREATE TABLE care_plans (
    patient_id  uuid PRIMARY KEY REFERENCES patients (id),
    targets     jsonb NOT NULL DEFAULT '{}',
    thresholds  jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid REFERENCES users (id)
);

ALTER TABLE alert_events ADD FOREIGN KEY (actor_user_id) REFERENCES users (id);

-- Who read or changed what, when, about which patient; allowed and refused attempts alike.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    tenant_id      uuid,
    actor_user_id  uuid,
    actor_role     text,
    action         text NOT NULL,
    method         text NOT NULL,
    path           text NOT NULL,
    patient_id     uuid,
    outcome        text NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    status         smallint NOT NULL,
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at DESC);
CREATE INDEX audit_log_patient ON audit_log (patient_id, at DESC);

CREATE FUNCTION vigil_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_append_only();
CREATE TRIGGER alert_events_append_only BEFORE UPDATE OR DELETE ON alert_events
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();

-- The API runs as this role (SET ROLE): it may read and write the application's tables but
-- cannot rewrite the audit log or the alert trail, nor touch the migration history.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vigil_api') THEN
        CREATE ROLE vigil_api NOLOGIN;
    END IF;
    IF NOT pg_has_role(current_user, 'vigil_api', 'MEMBER') THEN
        EXECUTE format('GRANT vigil_api TO %I', current_user);
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO vigil_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO vigil_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vigil_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO vigil_api;
REVOKE ALL ON schema_migrations FROM vigil_api;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, alert_events FROM vigil_api;
