-- Low oxygen, a COPD drop, NEWS2 and fever are now one episode, `deterioration`
-- (vigil.alerts.episodes). Alerts written under the old keys move to it, so a finding after the
-- deploy escalates the alert the team already has instead of opening a second one beside it.
-- A patient can hold several unresolved alerts under the old keys (one per old episode) but
-- only one per episode now: the most recently seen one moves, the others keep their old key and
-- resolve as before. Resolved alerts all move (they only decide whether a finding reopens).
UPDATE alerts SET episode = 'deterioration'
WHERE state = 'resolved'
  AND episode IN ('low_oxygen', 'spo2_low', 'copd_exacerbation', 'news2', 'fever');

UPDATE alerts AS a SET episode = 'deterioration'
WHERE a.state <> 'resolved'
  AND a.episode IN ('low_oxygen', 'spo2_low', 'copd_exacerbation', 'news2', 'fever')
  AND NOT EXISTS (
      SELECT 1 FROM alerts c
      WHERE c.patient_id = a.patient_id AND c.episode = 'deterioration' AND c.state <> 'resolved')
  AND a.id = (
      SELECT b.id FROM alerts b
      WHERE b.patient_id = a.patient_id AND b.state <> 'resolved'
        AND b.episode IN ('low_oxygen', 'spo2_low', 'copd_exacerbation', 'news2', 'fever')
      ORDER BY b.last_seen DESC, b.id
      LIMIT 1);
