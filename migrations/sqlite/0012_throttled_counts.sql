-- Sign-in attempts refused by throttling, counted per client address and hour instead of an
-- audit row each (the audit log cannot be pruned; strangers choose how often they are refused).
-- The first refusal of each address and hour is audited; the count says how many followed.
CREATE TABLE throttled_counts (
    key TEXT NOT NULL,
    hour INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, hour)
) WITHOUT ROWID;
