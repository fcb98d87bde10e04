-- The glucose trigger functions of 0111 (per row) and 0160 (per statement) were written for
-- the `readings` table; 0180 turned it into a view, and 0181 and 0190 put the statement-level
-- trigger on reading_rows (reading_rows_generations_touch): no trigger calls these any more.
-- Dropped without CASCADE: should one still be in use, this migration fails instead.
-- (glucose_day_bump, the one-reading bump for a row trigger, stays: it is kept tested.)
DROP FUNCTION glucose_day_touch();
DROP FUNCTION glucose_generations_touch();
