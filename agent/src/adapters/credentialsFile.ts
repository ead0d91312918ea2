/** Reads a device credentials file: {"devices":[{"deviceId","username","password"}]}, as written by `outpost devices enroll`. */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { DeviceId } from '../../../src-shared/domain/ids.ts'
import { AppError } from '../../../src-shared/errors.ts'

export const DeviceCredential = z.object({
  deviceId: DeviceId,
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
})
export type DeviceCredential = z.infer<typeof DeviceCredential>

const CredentialsFile = z.object({ devices: z.array(DeviceCredential).max(100_000) })

/** Throws AppError 'invalid-input' naming the file and the problem; never returns a partial list. */
export async function readCredentialsFile(path: string): Promise<DeviceCredential[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const errno = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable'
    throw new AppError('invalid-input', `Cannot read credentials file ${path} (${errno})`, { path })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new AppError('invalid-input', `Credentials file ${path} is not valid JSON`, { path })
  }
  const parsed = CredentialsFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue === undefined ? '' : ` at ${issue.path.join('.') || 'top level'}: ${issue.message}`
    throw new AppError('invalid-input', `Credentials file ${path} does not match {"devices":[{"deviceId","username","password"}]}${where}`, { path })
  }
  for (const device of parsed.data.devices) {
    if (device.username !== device.deviceId) {
      throw new AppError('invalid-input', `Credentials file ${path}: username must equal deviceId (${device.deviceId})`, { path })
    }
  }
  return parsed.data.devices
}
