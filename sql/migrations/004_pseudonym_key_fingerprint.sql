-- The fingerprint of the pseudonym key the warehouse's customer ids are made with (an HMAC of a fixed text under
-- the key: it tells keys apart and reveals nothing of the key; pipeline/ingest/privacy.py, key_fingerprint). The
-- first load writes it; a load with another key is refused, for its customer ids would match none stored
-- (docs/PRIVACY.md). A warehouse from before this migration takes the key of its next load.
create table if not exists audit.pseudonym_key (
    fingerprint varchar not null,
    recorded_at timestamptz not null
);
