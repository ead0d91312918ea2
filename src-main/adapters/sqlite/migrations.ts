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
]
