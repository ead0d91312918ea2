/** Reads the device list straight from a data directory's database, also while a control center is running on it. */
import { join } from 'node:path'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import { DATABASE_FILE_NAME, openDatabaseReadOnly } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { toDeviceSummary } from '../core/fleet/deviceRecord.ts'

export { openDatabaseReadOnly }

/**
 * Every device in `<dataDir>/outpost.db`, ordered by id. Throws AppError 'not-found' when there is no database yet,
 * 'database-corrupt' when it is damaged. `isOnline` is as the running control center last recorded it; a stopped
 * control center marks every device offline when it closes.
 */
export async function listDevicesFromDataDir(dataDir: string): Promise<DeviceSummary[]> {
  const db = openDatabaseReadOnly(join(dataDir, DATABASE_FILE_NAME))
  try {
    return (await createSqliteDeviceRepository(db).list()).map(toDeviceSummary)
  } finally {
    db.close()
  }
}
