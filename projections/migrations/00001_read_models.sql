-- Read models of the attestation ledger. Every table here is disposable:
-- it is rebuilt from the event log by `ledger projections rebuild`.
-- WARNING: projector names in checkpoints and dead_letters are persisted.

-- +goose Up

-- One row per projector: the position of the last event it has taken into
-- account, written in the same transaction as the projector's rows.
CREATE TABLE checkpoints (
    projector TEXT PRIMARY KEY,
    position  INTEGER NOT NULL
) WITHOUT ROWID;

-- Events a projector could not apply, even after retries. The projector's
-- checkpoint moves past them; a rebuild after a fix applies them.
CREATE TABLE dead_letters (
    projector      TEXT    NOT NULL,
    position       INTEGER NOT NULL,
    event_id       TEXT    NOT NULL,
    stream         TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_at    TEXT    NOT NULL,
    error          TEXT    NOT NULL,
    data           BLOB    NOT NULL,
    PRIMARY KEY (projector, position)
) WITHOUT ROWID;

-- Projector loan_requests: LoanRequestView by request id.
CREATE TABLE loan_requests (
    request_id              TEXT PRIMARY KEY,
    siren                   TEXT    NOT NULL,
    bank_code               TEXT    NOT NULL,
    status                  TEXT    NOT NULL,
    requested_on            TEXT    NOT NULL,
    region                  TEXT    NOT NULL,
    section                 TEXT    NOT NULL,
    size_category           TEXT    NOT NULL,
    amount_cents            INTEGER NOT NULL,
    ceiling_cents           INTEGER NOT NULL,
    remaining_ceiling_cents INTEGER NOT NULL,
    attestation_number      TEXT,
    position                INTEGER NOT NULL,
    view                    BLOB    NOT NULL
);

-- Projector attestations: AttestationView by number. issued_position (the
-- position of attestation.issued) orders the list and its cursors. A status
-- filter alone scans in that order (no index: every status change would
-- update it); with a bank or a SIREN it uses their index.
CREATE TABLE attestations (
    issued_position INTEGER PRIMARY KEY,
    number          TEXT    NOT NULL UNIQUE,
    request_id      TEXT    NOT NULL,
    siren           TEXT    NOT NULL,
    bank_code       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    amount_cents    INTEGER NOT NULL,
    issued_at       INTEGER NOT NULL, -- Unix nanoseconds, UTC
    position        INTEGER NOT NULL,
    view            BLOB    NOT NULL
);
CREATE INDEX attestations_by_siren ON attestations (siren, issued_position);
CREATE INDEX attestations_by_bank ON attestations (bank_code, issued_position);
CREATE INDEX attestations_by_issued_at ON attestations (issued_at);

-- Projector companies: one row per SIREN. banks lists (JSON) the banks that
-- have a request for the company; attestations lists (JSON) its
-- attestations, oldest first, with their amounts and whether they count
-- against the ceiling.
CREATE TABLE companies (
    siren          TEXT PRIMARY KEY,
    name           TEXT    NOT NULL,
    size_category  TEXT    NOT NULL,
    ceiling_cents  INTEGER NOT NULL,
    attested_cents INTEGER NOT NULL,
    banks          TEXT    NOT NULL,
    attestations   TEXT    NOT NULL,
    position       INTEGER NOT NULL
) WITHOUT ROWID;

-- Projector reports: one fact per loan request with its dimensions and
-- its current contribution to each measure of GET /v1/reports/pge.
-- Measures are 0 or 1 for counts; a cancelled attestation contributes to
-- cancelled only, not to attested, attested_cents or guaranteed_cents.
CREATE TABLE report_facts (
    request_id         TEXT PRIMARY KEY,
    attestation_number TEXT UNIQUE,
    requested_on       TEXT    NOT NULL,
    week               TEXT    NOT NULL,
    month              TEXT    NOT NULL,
    region             TEXT    NOT NULL,
    section            TEXT    NOT NULL,
    size_category      TEXT    NOT NULL,
    bank_code          TEXT    NOT NULL,
    requested_cents    INTEGER NOT NULL,
    guarantee_rate_bps INTEGER NOT NULL,
    pending            INTEGER NOT NULL,
    rejected           INTEGER NOT NULL,
    attested           INTEGER NOT NULL,
    cancelled          INTEGER NOT NULL,
    granted            INTEGER NOT NULL,
    attested_cents     INTEGER NOT NULL,
    guaranteed_cents   INTEGER NOT NULL,
    granted_cents      INTEGER NOT NULL,
    position           INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX report_facts_by_requested_on ON report_facts (requested_on);

-- +goose Down
DROP TABLE report_facts;
DROP TABLE companies;
DROP TABLE attestations;
DROP TABLE loan_requests;
DROP TABLE dead_letters;
DROP TABLE checkpoints;
