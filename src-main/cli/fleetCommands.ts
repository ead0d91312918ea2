/** The commands that report on or change the fleet: devices, models, status. */
import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { DeviceCredentials } from '../../src-shared/contract/index.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import { DeviceId } from '../../src-shared/domain/ids.ts'
import type { CliContext } from './cliContext.ts'
import { connectionFlags, resolveDataDir, withControlCenter } from './connectToControlCenter.ts'
import { parseCommandLine, parseCount, UsageError } from './flags.ts'
import { formatBytes, formatInstant, formatMs, formatPairs, formatTable } from './formatTable.ts'
import { readDevicesFromDataDir } from './readDevicesFromDataDir.ts'
import { usage } from './usage.ts'

const MAX_ENROLL_COUNT = 1000

/** `outpost devices list` */
export async function runDevicesList(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine('devices list', args, { 'data-dir': { type: 'string' }, json: { type: 'boolean' } }, false)
  if (values.help) return help(context, usage.devicesList)
  const devices = await readDevicesFromDataDir(resolveDataDir(values['data-dir'], context))
  if (values.json) {
    context.stdout(JSON.stringify(devices, null, 2))
  } else if (devices.length === 0) {
    context.stdout('No devices yet. Enroll one with `outpost devices enroll ID`, or start with `outpost serve --demo`.')
  } else {
    context.stdout(deviceTable(devices))
  }
  return 0
}

export function deviceTable(devices: readonly DeviceSummary[]): string {
  return formatTable(
    ['ID', 'ONLINE', 'MODEL', 'EP', 'P50/P95 MS', 'LAST SEEN'],
    devices.map((device) => [
      device.deviceId,
      device.isOnline ? 'yes' : 'no',
      device.activeModel ? `${device.activeModel.name}@${device.activeModel.version}` : '-',
      device.executionProvider ?? '-',
      // A window without requests has no latency worth showing, only zeros.
      device.latency && device.latency.requestCount > 0 ? `${formatMs(device.latency.p50Ms)}/${formatMs(device.latency.p95Ms)}` : '-',
      formatInstant(device.lastSeenAt),
    ]),
  )
}

/** `outpost devices enroll` */
export async function runDevicesEnroll(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'devices enroll',
    args,
    { ...connectionFlags, count: { type: 'string' }, prefix: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    true,
  )
  if (values.help) return help(context, usage.devicesEnroll)
  const deviceIds = enrollTargets(positionals, values.count, values.prefix)
  const outFile = values.out === undefined ? undefined : path.resolve(context.cwd, values.out)

  const issued = await withControlCenter(values, context, async (client) => {
    const credentials: DeviceCredentials[] = []
    for (const deviceId of deviceIds) credentials.push(await client.call('devices.enroll', { deviceId }))
    return credentials
  })

  if (outFile !== undefined) {
    const devices = issued.map(({ deviceId, username, password }) => ({ deviceId, username, password }))
    writeFileSync(outFile, `${JSON.stringify({ devices }, null, 2)}\n`, { mode: 0o600 })
    chmodSync(outFile, 0o600)
    if (values.json) context.stdout(JSON.stringify({ out: outFile, deviceIds, brokerUrl: issued[0]?.brokerUrl ?? null }))
    else context.stdout(`Wrote credentials for ${issued.length} device(s) to ${outFile}; pass it to outpost-agent --credentials`)
    return 0
  }
  if (values.json) {
    context.stdout(JSON.stringify(issued, null, 2))
  } else {
    context.stdout(
      formatTable(
        ['ID', 'USERNAME', 'PASSWORD', 'BROKER'],
        issued.map((credentials) => [credentials.deviceId, credentials.username, credentials.password, credentials.brokerUrl]),
      ),
    )
    context.stderr('Passwords are shown only this once.')
  }
  return 0
}

function enrollTargets(positionals: readonly string[], countText: string | undefined, prefix: string | undefined): string[] {
  if (countText === undefined) {
    if (prefix !== undefined) throw new UsageError('--prefix goes with --count')
    if (positionals.length !== 1) throw new UsageError('Pass one device id, or --count N; run `outpost devices enroll --help`')
    return [validDeviceId(positionals[0] ?? '')]
  }
  if (positionals.length > 0) throw new UsageError('Pass either a device id or --count, not both')
  const count = parseCount(countText, 'count', 1, MAX_ENROLL_COUNT)
  return Array.from({ length: count }, (_, index) => validDeviceId(`${prefix ?? 'device-'}${index + 1}`))
}

function validDeviceId(deviceId: string): string {
  const parsed = DeviceId.safeParse(deviceId)
  if (!parsed.success) {
    throw new UsageError(`'${deviceId}' is not a valid device id: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  }
  return parsed.data
}

/** `outpost models list` */
export async function runModelsList(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine('models list', args, { ...connectionFlags, json: { type: 'boolean' } }, false)
  if (values.help) return help(context, usage.modelsList)
  const models = await withControlCenter(values, context, (client) => client.call('models.list', {}))
  if (values.json) {
    context.stdout(JSON.stringify(models, null, 2))
  } else if (models.length === 0) {
    context.stdout('No models yet. Import one with `outpost models import FILE`.')
  } else {
    context.stdout(
      formatTable(
        ['ID', 'NAME', 'VERSION', 'FORMAT', 'SIZE', 'SHA256', 'IMPORTED'],
        models.map((model) => [
          model.modelId,
          model.name,
          model.version,
          model.format,
          formatBytes(model.sizeBytes),
          model.sha256.slice(0, 12),
          formatInstant(model.importedAt),
        ]),
      ),
    )
  }
  return 0
}

/** `outpost models import FILE` */
export async function runModelsImport(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'models import',
    args,
    { ...connectionFlags, name: { type: 'string' }, version: { type: 'string' }, json: { type: 'boolean' } },
    true,
  )
  if (values.help) return help(context, usage.modelsImport)
  if (positionals.length !== 1) throw new UsageError('Pass one model file; run `outpost models import --help`')
  // The control center reads the file itself, from its own working directory: send an absolute path.
  const filePath = path.resolve(context.cwd, positionals[0] ?? '')
  const model = await withControlCenter(values, context, (client) =>
    client.call('models.importFile', {
      path: filePath,
      ...(values.name === undefined ? {} : { name: values.name }),
      ...(values.version === undefined ? {} : { version: values.version }),
    }),
  )
  if (values.json) context.stdout(JSON.stringify(model, null, 2))
  else {
    context.stdout(
      `Imported ${model.name}@${model.version} as ${model.modelId} (${model.format}, ${formatBytes(model.sizeBytes)}, sha256 ${model.sha256})`,
    )
  }
  return 0
}

/** `outpost models deploy MODEL_ID --device ID...` */
export async function runModelsDeploy(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'models deploy',
    args,
    { ...connectionFlags, device: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    true,
  )
  if (values.help) return help(context, usage.modelsDeploy)
  if (positionals.length !== 1) throw new UsageError('Pass one model id; run `outpost models deploy --help`')
  const deviceIds = (values.device ?? []).map(validDeviceId)
  if (deviceIds.length === 0) throw new UsageError('Name at least one device with --device ID')
  const modelId = positionals[0] ?? ''
  const result = await withControlCenter(values, context, (client) => client.call('models.deploy', { modelId, deviceIds }))
  if (values.json) context.stdout(JSON.stringify(result, null, 2))
  else {
    context.stdout(
      formatTable(
        ['DEVICE', 'DIRECTIVE SEQ'],
        result.directives.map((directive) => [directive.deviceId, String(directive.seq)]),
      ),
    )
  }
  return 0
}

/** `outpost status` */
export async function runStatus(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine('status', args, { ...connectionFlags, json: { type: 'boolean' } }, false)
  if (values.help) return help(context, usage.status)
  const { info, devices, models } = await withControlCenter(values, context, async (client) => ({
    info: await client.call('system.info', {}),
    devices: await client.call('devices.list', {}),
    models: await client.call('models.list', {}),
  }))
  const deviceCounts = { total: devices.length, online: devices.filter((device) => device.isOnline).length }
  if (values.json) {
    context.stdout(JSON.stringify({ ...info, devices: deviceCounts, modelCount: models.length }, null, 2))
  } else {
    context.stdout(
      formatPairs(
        [
          ['version', info.productVersion],
          ['host', info.host],
          ['started', formatInstant(info.startedAt)],
          ['data dir', info.dataDir],
          ['database', info.databaseFile],
          ['broker', `${info.brokerUrl} (${info.brokerKind})`],
          ['devices', `${deviceCounts.online} online of ${deviceCounts.total}`],
          ['models', String(models.length)],
        ],
      ),
    )
  }
  return 0
}

function help(context: CliContext, text: string): number {
  context.stdout(text)
  return 0
}
