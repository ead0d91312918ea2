/**
 * Schema migrations, applied in order by openDatabase. Never edit a released migration: add the next one.
 * Ids sort in application order (`NNNN-what-it-does`, anchors-aesthetics.md §4.7).
 */
export interface Migration {
  id: string
  sql: string
}

export const migrations: readonly Migration[] = [
  {
    id: '0001-create-fleet-tables',
    sql: `
      CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        password_hash TEXT,
        enrolled_at TEXT,
        is_online INTEGER NOT NULL DEFAULT 0,
        status_at TEXT,
        first_seen_at TEXT,
        last_seen_at TEXT,
        agent_version TEXT,
        hardware_json TEXT,
        execution_providers_json TEXT NOT NULL DEFAULT '[]',
        execution_provider TEXT,
        active_model_json TEXT,
        reported_directive_seq INTEGER NOT NULL DEFAULT 0,
        install_state TEXT NOT NULL DEFAULT 'idle',
        install_progress REAL NOT NULL DEFAULT 0,
        install_error_code TEXT,
        install_message TEXT,
        latency_json TEXT
      ) STRICT;

      CREATE TABLE models (
        model_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        format TEXT NOT NULL,
        sha256 TEXT NOT NULL UNIQUE,
        size_bytes INTEGER NOT NULL,
        imported_at TEXT NOT NULL,
        inputs_json TEXT NOT NULL,
        outputs_json TEXT NOT NULL,
        source_file_name TEXT NOT NULL,
        chunk_size_bytes INTEGER NOT NULL,
        chunk_count INTEGER NOT NULL,
        chunk_list_json TEXT NOT NULL,
        chunk_list_sha256 TEXT NOT NULL
      ) STRICT;
      CREATE INDEX models_by_name ON models (name);

      CREATE TABLE directives (
        device_id TEXT NOT NULL REFERENCES devices (device_id),
        seq INTEGER NOT NULL,
        action TEXT NOT NULL,
        model_id TEXT REFERENCES models (model_id),
        artifact_sha256 TEXT,
        issued_at TEXT NOT NULL,
        directive_json TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
      ) STRICT;
      CREATE INDEX directives_by_artifact ON directives (device_id, artifact_sha256);

      CREATE TABLE telemetry_windows (
        device_id TEXT NOT NULL,
        report_seq INTEGER NOT NULL,
        window_start_at TEXT NOT NULL,
        window_end_at TEXT NOT NULL,
        model_sha256 TEXT,
        execution_provider TEXT,
        request_count INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        latency_counts_json TEXT NOT NULL,
        rss_bytes INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, report_seq)
      ) STRICT;
      CREATE INDEX telemetry_windows_by_received_at ON telemetry_windows (received_at);
    `,
  },
  {
    id: '0002-create-releases',
    sql: `
      CREATE TABLE releases (
        release_id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL,
        release_counter INTEGER NOT NULL,
        version TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        envelope_json TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        UNIQUE (model_id, release_counter)
      ) STRICT;
    `,
  },
  {
    // Issue 7: drift counts on raw windows, rollups (series per release, per device, drift checkpoints), alerts,
    // device tags for cohorts. Time buckets are epoch milliseconds (UTC); count vectors are blobs (telemetryBlobs.ts).
    id: '0003-telemetry-drift-rollups',
    sql: `
      ALTER TABLE telemetry_windows ADD COLUMN bins_sha256 TEXT;
      ALTER TABLE telemetry_windows ADD COLUMN feature_counts_json TEXT;
      ALTER TABLE telemetry_windows ADD COLUMN prediction_counts_json TEXT;

      ALTER TABLE devices ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';

      CREATE TABLE drift_references (
        model_sha256 TEXT PRIMARY KEY,
        bins_sha256 TEXT NOT NULL,
        label TEXT NOT NULL,
        reference_json TEXT NOT NULL,
        registered_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE telemetry_series (
        resolution TEXT NOT NULL CHECK (resolution IN ('minute', 'hour', 'day')),
        model_sha256 TEXT NOT NULL,
        bucket_start_ms INTEGER NOT NULL,
        window_count INTEGER NOT NULL,
        request_count INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        latency_counts BLOB NOT NULL,
        drift_counts BLOB,
        PRIMARY KEY (resolution, model_sha256, bucket_start_ms)
      ) STRICT;

      CREATE TABLE telemetry_device_rollups (
        resolution TEXT NOT NULL CHECK (resolution IN ('hour', 'day')),
        device_id TEXT NOT NULL,
        bucket_start_ms INTEGER NOT NULL,
        model_sha256 TEXT NOT NULL,
        execution_provider TEXT,
        window_count INTEGER NOT NULL,
        request_count INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        latency_counts BLOB NOT NULL,
        PRIMARY KEY (resolution, device_id, bucket_start_ms, model_sha256)
      ) STRICT;

      -- One series per release and device; checkpoints key on its integer id so their index stays small.
      CREATE TABLE drift_devices (
        series_id INTEGER PRIMARY KEY,
        model_sha256 TEXT NOT NULL,
        device_id TEXT NOT NULL,
        first_bucket_ms INTEGER NOT NULL,
        last_bucket_ms INTEGER NOT NULL,
        UNIQUE (model_sha256, device_id)
      ) STRICT;

      CREATE TABLE drift_checkpoints (
        series_id INTEGER NOT NULL REFERENCES drift_devices (series_id),
        bucket_start_ms INTEGER NOT NULL,
        totals BLOB NOT NULL,
        PRIMARY KEY (series_id, bucket_start_ms)
      ) STRICT;

      CREATE TABLE alerts (
        alert_id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('drift', 'latency')),
        device_id TEXT NOT NULL,
        model_sha256 TEXT,
        value REAL NOT NULL,
        threshold REAL NOT NULL,
        consecutive_windows INTEGER NOT NULL,
        first_window_start_at TEXT NOT NULL,
        last_window_end_at TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        cleared_at TEXT,
        detail TEXT NOT NULL
      ) STRICT;
      CREATE INDEX alerts_by_device ON alerts (device_id, kind, cleared_at);

      CREATE TABLE alert_streaks (
        device_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        state_json TEXT NOT NULL,
        PRIMARY KEY (device_id, kind)
      ) STRICT;

      CREATE TABLE telemetry_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    `,
  },
  {
    // Staged rollouts (issue 6): the rollout record and each device row as validated JSON, the directive ledger
    // (intent before send, seq after), and the append-only, hash-chained audit log.
    id: '0004-create-rollouts-and-audit-log',
    sql: `
      CREATE TABLE rollouts (
        rollout_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        record_json TEXT NOT NULL
      ) STRICT;
      CREATE INDEX rollouts_by_status ON rollouts (status);

      CREATE TABLE rollout_devices (
        rollout_id TEXT NOT NULL REFERENCES rollouts (rollout_id),
        device_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        row_json TEXT NOT NULL,
        PRIMARY KEY (rollout_id, device_id)
      ) STRICT;
      CREATE INDEX rollout_devices_by_status ON rollout_devices (rollout_id, status);

      CREATE TABLE rollout_directives (
        rollout_id TEXT NOT NULL REFERENCES rollouts (rollout_id),
        device_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('install', 'rollback')),
        attempt INTEGER NOT NULL,
        seq_before INTEGER NOT NULL,
        intent_at TEXT NOT NULL,
        seq INTEGER,
        sent_at TEXT,
        withdrawn_at TEXT,
        PRIMARY KEY (rollout_id, device_id, action, attempt)
      ) STRICT;

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        reason TEXT NOT NULL,
        details_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
      ) STRICT;
      CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
]
