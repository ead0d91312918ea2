import path from 'node:path'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import { AppError } from '../../src-shared/errors.ts'
import { DATABASE_FILE_NAME } from '../adapters/sqlite/openDatabase.ts'
// Not createBackend.ts: this command must not load the broker and onnxruntime just to read a table.
import { listDevicesFromDataDir } from '../backend/listDevicesFromDataDir.ts'

/**
 * The backend's read-only device listing, with the CLI's wording: `not-found` says how to get a database, and a
 * database without Outpost's tables counts as `database-corrupt` rather than an internal error.
 */
export async function readDevicesFromDataDir(dataDir: string): Promise<DeviceSummary[]> {
  try {
    return await listDevicesFromDataDir(dataDir)
  } catch (error) {
    if (error instanceof AppError && error.code === 'not-found') {
      throw new AppError('not-found', `No Outpost database in ${dataDir}; run \`outpost serve\` first, or pass --data-dir`, { dataDir })
    }
    if (error instanceof Error && !(error instanceof AppError) && /no such (table|column)/.test(error.message)) {
      throw new AppError(
        'database-corrupt',
        `${path.join(dataDir, DATABASE_FILE_NAME)} is not an Outpost database this version can read (${error.message})`,
        { dataDir },
      )
    }
    throw error
  }
}
