-- +goose Up
-- The companies row shows the profile of the company's first attested
-- request, never a later or rejected one's (issue 11: a rejected request
-- by another bank overwrote the name and ceiling that everyone saw), and
-- each attestation's bank, so that a bank sees only its own.
-- candidates (JSON) keeps what each undecided request declares; declared
-- (JSON), by bank, what the bank's first attested request declared, which
-- is all of the company's profile that bank is shown. The rows written
-- under the old rule are dropped and the companies projector starts again
-- from the first event.
ALTER TABLE companies ADD COLUMN candidates TEXT NOT NULL DEFAULT '{}';
ALTER TABLE companies ADD COLUMN declared TEXT NOT NULL DEFAULT '{}';
DELETE FROM companies;
UPDATE checkpoints SET position = 0 WHERE projector = 'companies';

-- +goose Down
ALTER TABLE companies DROP COLUMN declared;
ALTER TABLE companies DROP COLUMN candidates;
