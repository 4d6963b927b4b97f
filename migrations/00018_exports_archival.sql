-- +goose Up
-- When an export's last attempt failed and River will try again, the time of that next attempt (shown
-- with the "waiting" state).
ALTER TABLE exports ADD COLUMN next_attempt_at timestamptz;

-- +goose Down
ALTER TABLE exports DROP COLUMN next_attempt_at;
