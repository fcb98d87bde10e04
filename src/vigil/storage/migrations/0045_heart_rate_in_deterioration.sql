-- A heart rate out of range is now part of the `deterioration` episode (vigil.alerts.episodes):
-- a tachycardia and the early-warning score its heart rate raised were two rows for one state.
-- Alerts under the old key move to it, as in 0031: resolved ones all (they only decide whether a
-- finding reopens), and an unresolved one only if the patient has no unresolved deterioration
-- alert yet (one unresolved alert per episode); otherwise it keeps its key and resolves as before.
UPDATE alerts SET episode = 'deterioration'
WHERE state = 'resolved' AND episode = 'heart_rate_out_of_range';

UPDATE alerts AS a SET episode = 'deterioration'
WHERE a.state <> 'resolved'
  AND a.episode = 'heart_rate_out_of_range'
  AND NOT EXISTS (
      SELECT 1 FROM alerts c
      WHERE c.patient_id = a.patient_id AND c.episode = 'deterioration' AND c.state <> 'resolved');
