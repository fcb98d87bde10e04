-- How far detection got: per partition of the readings stream, the last stream sequence whose
-- findings were applied. Written in the same transaction as the alert changes those findings
-- made, so a redelivered message is recognised as applied and a crash neither loses nor doubles.
CREATE TABLE detect_progress (
    stream        text NOT NULL,
    partition     integer NOT NULL CHECK (partition >= 0),
    last_seq      bigint NOT NULL CHECK (last_seq > 0),
    last_time     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, partition)
);
