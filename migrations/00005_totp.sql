-- +goose Up
-- TOTP replay protection: the last time step (Unix time / 30 s) whose code a user has used. A code is accepted
-- only for a later step, so a code seen over someone's shoulder, or sent twice, cannot be used again.
ALTER TABLE users ADD COLUMN totp_last_step bigint;

-- +goose Down
ALTER TABLE users DROP COLUMN totp_last_step;
