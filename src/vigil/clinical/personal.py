"""Rules against the patient's own usual values, and what counts as activity: the one home of
their thresholds (the detectors in :mod:`vigil.streaming.baseline` and the heart-rate rule read
them from here).

Which vitals are judged against a personal band, and why (each patient's usual level and spread
per metric and part of day is learned for every vital, :mod:`vigil.streaming.usual`, and shown
in every explanation):

- **Heart failure weight**: 1.5 kg above the usual weight, confirmed by the weighing before
  (``WeightAboveBaseline``; ESC 2021, HFSA).
- **COPD SpO2**: 3 points below the usual, two readings in a row (``SpO2Drop``; GOLD 2024).
- **Resting heart rate** (new): at rest, at least :data:`RESTING_HR_ABOVE_USUAL` above the
  patient's usual rate at that part of the day and at least :data:`RESTING_HR_FLOOR` (the
  usual definition of tachycardia at rest), for :data:`RESTING_HR_PERSIST_S`: a patient whose
  rate is usually 60 and stays at 110 at rest is told, where the population rule (over 120)
  is silent. Readings taken while the patient moves (below) are neither judged nor learned.
- **Temperature** (new): at least :data:`TEMPERATURE_ABOVE_USUAL` above the patient's usual and
  at least :data:`TEMPERATURE_FLOOR`, below the 38.0 °C of the fever rule: older patients run
  cooler and mount smaller fevers (IDSA 2008 criteria for fever in long-term care residents:
  a rise of more than 1.1 °C over the baseline temperature, or repeated oral readings over
  37.2 °C).
- Not judged against a personal band: blood pressure (home BP is judged against the target,
  ESH 2023, whatever the patient's usual), SpO2 outside COPD (the 90 % threshold), glucose
  (meals move it by 60 mg/dL or more every day).

**Activity**: a wearable's steps per minute (:data:`~vigil.core.metrics.Metric.STEPS`) at or
above :data:`ACTIVE_STEPS_PER_MIN` mean the patient is moving; the heart rate stays raised for
a while after, so the patient counts as active until :data:`ACTIVITY_RECOVERY_S` after the last
such minute. While active, a heart rate above the tachycardia threshold is exercise, not an
alarm (unless above the extreme limit, 170 /min, which alarms on one reading whatever the
patient is doing), and it is not learned as the patient's resting rate.

>>> RESTING_HR_FLOOR, RESTING_HR_ABOVE_USUAL, TEMPERATURE_ABOVE_USUAL
(100.0, 30.0, 1.1)
"""

from __future__ import annotations

ACTIVE_STEPS_PER_MIN = 60.0
"""Steps per minute from which the patient is moving: a slow walk of an older adult is 60-90
steps a minute, a brisk one over 100."""
ACTIVITY_RECOVERY_S = 30 * 60.0
"""After the last active minute, how long a raised heart rate still counts as exercise (heart
rate recovery to resting takes minutes to half an hour, longer in heart failure)."""
RESTING_HR_FLOOR = 100.0
"""/min: a resting heart rate above this is tachycardia (the usual adult definition)."""
RESTING_HR_ABOVE_USUAL = 30.0
"""/min above the patient's usual rate at that part of day."""
RESTING_HR_PERSIST_S = 30 * 60.0
"""How long the raised resting rate must last (as the population rule: one reading after the
stairs is not tachycardia)."""
TEMPERATURE_ABOVE_USUAL = 1.1
"""°C above the patient's usual temperature (IDSA 2008: 2 °F over baseline)."""
TEMPERATURE_FLOOR = 37.2
"""°C: below this, a rise over a cool patient's usual is not reported."""
