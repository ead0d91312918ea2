/** Opens `<dataDir>/outpost.db` with the settings every Outpost process relies on, and migrates it. */
import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import { AppError } from '../../../src-shared/errors.ts'
import { type Migration, migrations as outpostMigrations } from './migrations.ts'

export type SqliteDatabase = Database.Database

export const DATABASE_FILE_NAME = 'outpost.db'
/** How long a statement waits for another process's lock (the CLI reading while the server writes). */
const BUSY_TIMEOUT_MS = 5000

/**
 * Opens (creating if needed) and migrates the database. Nothing is written before `PRAGMA quick_check` passed, so a
 * damaged file is left exactly as it was. Throws AppError 'database-corrupt' or 'data-dir-unwritable'.
 */
export function openDatabase(file: string, migrations: readonly Migration[] = outpostMigrations): SqliteDatabase {
  const db = openRaw(file, {})
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    checkIntegrity(db, file)
    // WAL lets the CLI read while the server writes; FULL syncs every commit, so an acknowledged directive survives
    // a power cut (sequence numbers must never go back).
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    applyMigrations(db, migrations)
    return db
  } catch (error) {
    db.close()
    throw toAppError(error, file)
  }
}

/**
 * Opens an existing database for reading only (`outpost devices list` while the server runs). Throws AppError
 * 'not-found' when the file does not exist, 'database-corrupt' when it is damaged.
 */
export function openDatabaseReadOnly(file: string): SqliteDatabase {
  if (!existsSync(file)) {
    throw new AppError('not-found', `No Outpost database at ${file}; start the control center once or pass --data-dir`, { file })
  }
  const db = openRaw(file, { readonly: true, fileMustExist: true })
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    checkIntegrity(db, file)
    return db
  } catch (error) {
    db.close()
    throw toAppError(error, file)
  }
}

function openRaw(file: string, options: Database.Options): SqliteDatabase {
  try {
    return new Database(file, options)
  } catch (error) {
    throw toAppError(error, file)
  }
}

function checkIntegrity(db: SqliteDatabase, file: string): void {
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>
  const problems = rows.map((row) => row.quick_check).filter((line) => line !== 'ok')
  if (problems.length > 0) throw corrupt(file, problems.slice(0, 5).join('; '))
}

export function applyMigrations(db: SqliteDatabase, migrations: readonly Migration[]): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT')
  const applied = new Set(db.prepare<[], { id: string }>('SELECT id FROM schema_migrations').all().map((row) => row.id))
  const pending = migrations.filter((migration) => !applied.has(migration.id))
  const record = db.prepare<[string, string]>('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)')
  db.transaction(() => {
    for (const migration of pending) {
      db.exec(migration.sql)
      record.run(migration.id, new Date().toISOString())
    }
  })()
  return pending.map((migration) => migration.id)
}

function corrupt(file: string, reason: string): AppError {
  return new AppError(
    'database-corrupt',
    `The database ${file} is damaged (${reason}); restore it from a backup or move it aside to start with an empty one`,
    { file, reason },
  )
}

const corruptCodes = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB'])
const unwritableCodes = new Set(['SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY_DIRECTORY'])

function toAppError(error: unknown, file: string): unknown {
  if (error instanceof AppError) return error
  const code = error instanceof Database.SqliteError ? error.code : undefined
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
  if (code && [...corruptCodes].some((prefix) => code.startsWith(prefix))) return corrupt(file, reason ?? code)
  if ((code && unwritableCodes.has(code)) || (error instanceof TypeError && /directory does not exist/.test(reason ?? ''))) {
    return new AppError(
      'data-dir-unwritable',
      `Cannot open the database ${file} for writing (${reason}); fix the directory's permissions or pass --data-dir`,
      { file, reason },
    )
  }
  return error
}
