-- One row per committed `csqa refresh` (pipeline/ops/refresh.py): the marts were rebuilt from the stored rows with
-- no new batch, so the batch id alone cannot tell a reader's snapshot that came before the refresh from one after
-- it. A nightly with an empty inbox compares the newest row here with the published snapshot's, and publishes
-- when the snapshot is older (a refresh killed between its commit and its publish: docs/OPERATIONS.md).
create table if not exists audit.mart_refreshes (
    refreshed_at timestamptz not null,     -- the refresh's commit (the clock when its transaction began)
    batch_id bigint not null,              -- the newest batch when it ran
    rebuilt varchar not null,              -- why every mart was rebuilt ("requested": csqa refresh)
    config_hash varchar not null           -- staging.settings.config_hash it rebuilt under
);
