-- Alert episodes: related causes of one physiological state (a predicted low, a low, an urgent
-- low) are one alert. The rule "one unresolved alert per patient and cause" becomes "per patient
-- and episode" (vigil.alerts.episodes); `cause` is now the episode's current cause, `causes`
-- every cause it has seen, `worst_value` its worst reading.
-- Existing rows keep their cause as their episode: the grouping applies to new findings.

ALTER TABLE alerts ADD COLUMN episode text;
UPDATE alerts SET episode = cause;
ALTER TABLE alerts ALTER COLUMN episode SET NOT NULL;
ALTER TABLE alerts ADD COLUMN causes text[] NOT NULL DEFAULT '{}';
UPDATE alerts SET causes = ARRAY[cause];
ALTER TABLE alerts ADD COLUMN worst_value double precision;
UPDATE alerts SET worst_value = last_value;

DROP INDEX alerts_one_unresolved;
CREATE UNIQUE INDEX alerts_one_unresolved_episode ON alerts (patient_id, episode)
    WHERE state <> 'resolved';
DROP INDEX alerts_recently_resolved;
CREATE INDEX alerts_recently_resolved ON alerts (patient_id, episode, resolved_at DESC)
    WHERE state = 'resolved';
-- Seen alerts whose episode may have ended (the clock resolves them).
CREATE INDEX alerts_seen_last ON alerts (last_seen) WHERE state IN ('acknowledged', 'snoozed');

-- The system resolves a seen alert whose episode has ended.
ALTER TABLE alerts DROP CONSTRAINT alerts_outcome_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_outcome_check CHECK (outcome IN
    ('actionable', 'not_actionable', 'false_reading', 'duplicate', 'answered_by_data',
     'episode_ended'));
