-- An evaluation the host could not finish after every retry failed
-- through no fault of the competitor's: it is not charged to the daily cap.
ALTER TABLE submissions ADD COLUMN host_failure boolean NOT NULL DEFAULT false;
