/** Device listing and enrollment (issuing broker credentials). */
import type { DeviceCredentials } from '../../src-shared/contract/devicesContract.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import { CONTROL_CENTER_USERNAME, isReservedDeviceId } from '../core/fleet/brokerIdentity.ts'
import { applyEnrollment, toDeviceSummary } from '../core/fleet/deviceRecord.ts'
import type { Clock } from '../ports/Clock.ts'
import type { CredentialHasher } from '../ports/CredentialHasher.ts'
import type { DeviceRepository } from '../ports/DeviceRepository.ts'
import type { Notifier } from '../ports/Notifier.ts'

export interface DevicesServiceOptions {
  devices: DeviceRepository
  credentials: CredentialHasher
  /** The URL agents should connect to, put into issued credentials. */
  brokerUrl: string
  clock: Clock
  notifier: Notifier
  log: Logger
}

export function createDevicesService(options: DevicesServiceOptions) {
  const { devices, credentials, brokerUrl, clock, notifier, log } = options
  return {
    async list(): Promise<DeviceSummary[]> {
      return (await devices.list()).map(toDeviceSummary)
    },

    /** Throws 'not-found'. */
    async get(deviceId: string): Promise<DeviceSummary> {
      const record = await devices.get(deviceId)
      if (!record) throw new AppError('not-found', `Device ${deviceId} is not registered; enroll it first`, { deviceId })
      return toDeviceSummary(record)
    },

    /**
     * Registers the device (or re-enrolls it) with a new random password; only its hash is stored, so the old
     * password stops working at once. Throws 'invalid-input' for an id reserved for the control center.
     */
    async enroll(deviceId: string): Promise<DeviceCredentials> {
      if (isReservedDeviceId(deviceId)) {
        throw new AppError('invalid-input', `Device ids starting with '${CONTROL_CENTER_USERNAME}' are reserved; choose another id`, {
          deviceId,
        })
      }
      const password = credentials.generatePassword()
      const passwordHash = await credentials.hashPassword(password)
      const at = new Date(clock.nowMs()).toISOString()
      const stored = await devices.update(deviceId, (record) => applyEnrollment(record, deviceId, passwordHash, at))
      if (stored) notifier.deviceChanged(toDeviceSummary(stored))
      log.info('Enrolled a device', { deviceId })
      return { deviceId, username: deviceId, password, brokerUrl }
    },
  }
}

/**
 * The embedded broker's device login: true when the password matches the device's stored hash. Unknown devices cost
 * one hash as well, so response time does not reveal which ids are enrolled.
 */
export function createDevicePasswordCheck(devices: DeviceRepository, credentials: CredentialHasher) {
  let decoyHash: Promise<string> | undefined
  return async (deviceId: string, password: string): Promise<boolean> => {
    const record = await devices.get(deviceId)
    if (!record?.passwordHash) {
      decoyHash ??= credentials.hashPassword(credentials.generatePassword())
      await credentials.verifyPassword(password, await decoyHash)
      return false
    }
    return credentials.verifyPassword(password, record.passwordHash)
  }
}

export type DevicesService = ReturnType<typeof createDevicesService>
