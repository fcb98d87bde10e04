-- What a webhook destination receives: Vigil's own JSON, or the alert as a FHIR R4
-- DetectedIssue (application/fhir+json) for an EMR's endpoint.
ALTER TABLE webhooks ADD COLUMN payload_format text NOT NULL DEFAULT 'vigil'
    CHECK (payload_format IN ('vigil', 'fhir'));
