/** `outpost rollout ...`: staged rollouts through the running control center. */
import { writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import path from 'node:path'
import type { AuditLogEntry } from '../../src-shared/contract/rolloutsContract.ts'
import { DeviceId, ModelId } from '../../src-shared/domain/ids.ts'
import type {
  DryRunResult,
  MaintenanceWindow,
  RolloutDetail,
  RolloutSpecInput,
  RolloutSummary,
  SimulationInput,
  WaveState,
} from '../../src-shared/domain/rollout.ts'
import type { CliContext } from './cliContext.ts'
import { connectionFlags, withControlCenter } from './connectToControlCenter.ts'
import { envValue, parseCommandLine, parseCount, UsageError } from './flags.ts'
import { formatInstant, formatPairs, formatTable } from './formatTable.ts'
import { usage } from './usage.ts'

const who = { actor: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } } as const

/** Flags that describe a rollout (create and dry-run). */
const specFlags = {
  model: { type: 'string' },
  variant: { type: 'string', multiple: true },
  name: { type: 'string' },
  device: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  group: { type: 'string', multiple: true },
  arch: { type: 'string', multiple: true },
  ep: { type: 'string', multiple: true },
  'min-memory-mb': { type: 'string' },
  waves: { type: 'string' },
  soak: { type: 'string' },
  approval: { type: 'boolean' },
  rate: { type: 'string' },
  ramp: { type: 'boolean' },
  window: { type: 'string', multiple: true },
  'on-breach': { type: 'string' },
  'max-failure-percent': { type: 'string' },
  'max-latency-ratio': { type: 'string' },
} as const

const MEBIBYTE = 1024 * 1024

/** 90s, 30m, 2h, 1d, or plain milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(text.trim())
  if (!match) throw new UsageError(`--${flag} takes a duration such as 90s, 30m or 2h, not '${text}'`)
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1
  return Number(match[1]) * unitMs
}

function parseNumber(text: string, flag: string, min: number, max: number): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be a number from ${min} to ${max}, not '${text}'`)
  }
  return value
}

function parseModelId(text: string, flag: string): string {
  if (!ModelId.safeParse(text).success) throw new UsageError(`--${flag}: '${text}' is not a model id (m-0123456789ab; see \`outpost models list\`)`)
  return text
}

/** NAME=MODEL_ID[,ep=cuda][,arch=x64][,min-memory-mb=2048][,accel=/dev/nvidia] */
export function parseVariant(text: string) {
  const [head = '', ...options] = text.split(',')
  const [name, modelId] = head.split('=')
  if (!name || !modelId) throw new UsageError(`--variant takes NAME=MODEL_ID[,ep=EP][,arch=ARCH][,min-memory-mb=N][,accel=PREFIX], not '${text}'`)
  const requirements: { executionProviders: string[]; arch: string[]; accelerators: string[]; minMemoryBytes?: number } = {
    executionProviders: [],
    arch: [],
    accelerators: [],
  }
  for (const option of options) {
    const [key, value = ''] = option.split('=')
    if (key === 'ep') requirements.executionProviders.push(value)
    else if (key === 'arch') requirements.arch.push(value)
    else if (key === 'accel') requirements.accelerators.push(value)
    else if (key === 'min-memory-mb') requirements.minMemoryBytes = parseCount(value, 'variant min-memory-mb', 1, 10_000_000) * MEBIBYTE
    else throw new UsageError(`--variant: unknown requirement '${key ?? ''}' (use ep, arch, accel or min-memory-mb)`)
  }
  return { name, modelId: parseModelId(modelId, 'variant'), requirements }
}

/** 1:5,10,50,100 — cumulative percentages, each with an optional minimum device count. */
export function parseWaves(text: string): NonNullable<RolloutSpecInput['waves']> {
  return text.split(',').map((part) => {
    const [percent = '', minDevices] = part.split(':')
    return {
      cumulativePercent: parseNumber(percent, 'waves', 0.001, 100),
      ...(minDevices === undefined ? {} : { minDevices: parseCount(minDevices, 'waves minimum', 0, 100_000) }),
    }
  })
}

/** HH:MM-HH:MM[@0,6] in UTC; the days are 0 (Sunday) to 6. */
export function parseWindow(text: string): MaintenanceWindow {
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})(?:@([0-6](?:,[0-6])*))?$/.exec(text.trim())
  if (!match) throw new UsageError(`--window takes HH:MM-HH:MM (UTC), optionally @DAYS such as @1,2,3 (0 = Sunday), not '${text}'`)
  const minute = (hours: string | undefined, minutes: string | undefined) => Number(hours) * 60 + Number(minutes)
  const start = minute(match[1], match[2])
  const end = minute(match[3], match[4])
  if (start > 1439 || end > 1440) throw new UsageError(`--window '${text}' is not a time of day`)
  return { startMinuteUtc: start, endMinuteUtc: end, daysUtc: match[5] === undefined ? [] : match[5].split(',').map(Number) }
}

type SpecValues = { [K in keyof typeof specFlags]?: (typeof specFlags)[K]['type'] extends 'boolean' ? boolean : (typeof specFlags)[K] extends { multiple: true } ? string[] : string }

export function specFromFlags(values: SpecValues): RolloutSpecInput {
  const variants = (values.variant ?? []).map(parseVariant)
  if (values.model !== undefined) variants.unshift({ name: 'default', modelId: parseModelId(values.model, 'model'), requirements: { executionProviders: [], arch: [], accelerators: [] } })
  if (variants.length === 0) throw new UsageError('Name what to roll out: --model MODEL_ID, or --variant NAME=MODEL_ID for each variant')
  const deviceIds = (values.device ?? []).map((deviceId) => {
    if (!DeviceId.safeParse(deviceId).success) throw new UsageError(`'${deviceId}' is not a valid device id`)
    return deviceId
  })
  const onBreach = values['on-breach']
  if (onBreach !== undefined && onBreach !== 'halt' && onBreach !== 'halt-and-rollback') throw new UsageError("--on-breach is 'halt' or 'halt-and-rollback'")
  const ratePerMinute = values.rate === undefined ? undefined : parseCount(values.rate, 'rate', 1, 100_000)
  return {
    ...(values.name === undefined ? {} : { name: values.name }),
    release: { variants },
    target: {
      deviceIds,
      tags: values.tag ?? [],
      groups: values.group ?? [],
      arch: values.arch ?? [],
      executionProviders: values.ep ?? [],
      minMemoryBytes: values['min-memory-mb'] === undefined ? null : parseCount(values['min-memory-mb'], 'min-memory-mb', 1, 10_000_000) * MEBIBYTE,
    },
    ...(values.waves === undefined ? {} : { waves: parseWaves(values.waves) }),
    ...(values.soak === undefined ? {} : { soakMs: parseDuration(values.soak, 'soak') }),
    ...(values.approval ? { requireApproval: true } : {}),
    rate: {
      maxPerMinute: ratePerMinute ?? null,
      // The ramp of anchors-security.md §10.11: 10/min, doubling after every 20 successes.
      ramp: values.ramp ? { basePerMinute: 10, factor: 2, successesPerStep: 20 } : null,
    },
    ...(values.window === undefined ? {} : { maintenanceWindows: values.window.map(parseWindow) }),
    ...(onBreach === undefined ? {} : { onBreach }),
    gates: {
      ...(values['max-failure-percent'] === undefined ? {} : { maxInstallFailureRatio: parseNumber(values['max-failure-percent'], 'max-failure-percent', 0, 100) / 100 }),
      ...(values['max-latency-ratio'] === undefined ? {} : { maxLatencyRatio: parseNumber(values['max-latency-ratio'], 'max-latency-ratio', 1, 100) }),
    },
  }
}

/** --actor, else $OUTPOST_ACTOR, else the login name: the audit log's "who". */
function actorOf(flag: string | undefined, context: CliContext): string {
  if (flag !== undefined) return flag.slice(0, 100)
  const fromEnv = envValue(context.env, 'OUTPOST_ACTOR') ?? envValue(context.env, 'USER')
  if (fromEnv !== undefined) return fromEnv.slice(0, 100)
  try {
    return userInfo().username.slice(0, 100) || 'operator'
  } catch {
    return 'operator'
  }
}

function oneRolloutId(positionals: readonly string[], command: string): string {
  if (positionals.length !== 1 || !/^r-[0-9a-f]{12}$/.test(positionals[0] ?? '')) {
    throw new UsageError(`Pass one rollout id (r-0123456789ab); run \`outpost rollout ${command} --help\``)
  }
  return positionals[0] ?? ''
}

const percent = (ratio: number | null) => (ratio === null ? '-' : `${(ratio * 100).toFixed(1)}%`)

function waveLine(wave: WaveState): string[] {
  const values = wave.decision?.values
  return [
    String(wave.index + 1),
    `${wave.deviceCount} (${wave.cumulativeDeviceCount} total)`,
    wave.status + (wave.spec.requiresApproval && wave.approvedAt === null && wave.status === 'pending' ? ' (needs approval)' : ''),
    wave.decision ? `${wave.decision.verdict}${wave.decision.reasons.length > 0 ? `: ${wave.decision.reasons.join(', ')}` : ''}` : '-',
    values ? `${values.committedCount}/${values.failedCount}/${values.timedOutCount}/${values.silentCount}` : '-',
    values ? percent(values.installFailureRatio) : '-',
    values?.latencyRatio != null ? `${values.latencyRatio.toFixed(2)}x` : '-',
  ]
}

export function formatRolloutDetail(detail: RolloutDetail): string {
  const outcomes = Object.entries(detail.outcomes)
    .filter(([, count]) => count > 0)
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(', ')
  const header = formatPairs([
    ['rollout', `${detail.rolloutId} ${detail.spec.name}`],
    ['status', detail.status + (detail.haltReasons.length > 0 ? ` (${detail.haltReasons.join(', ')})` : '')],
    ['release', detail.spec.release.variants.map((variant) => `${variant.name}=${variant.modelId}`).join(' ')],
    ['wave', detail.currentWave === null ? '-' : `${detail.currentWave + 1} of ${detail.waves.length}`],
    ['devices', `${detail.deviceCount}: ${outcomes || 'none'}`],
    ['started', formatInstant(detail.startedAt)],
    ['finished', formatInstant(detail.finishedAt)],
  ])
  const waves = formatTable(['WAVE', 'DEVICES', 'STATUS', 'GATE', 'OK/FAIL/TIMEOUT/SILENT', 'FAIL%', 'P95'], detail.waves.map(waveLine))
  const failed = detail.devices.filter((row) => row.status === 'failed' || row.status === 'timed-out' || (row.status === 'rolled-back' && row.isHealthFailure))
  const failures = failed.length === 0 ? '' : `\n\n${formatTable(['DEVICE', 'STATUS', 'CODE'], failed.slice(0, 20).map((row) => [row.deviceId, row.status, row.errorCode ?? '-']))}${failed.length > 20 ? `\n… ${failed.length - 20} more (outpost rollout report)` : ''}`
  return `${header}\n\n${waves}${failures}`
}

function formatRolloutList(rollouts: readonly RolloutSummary[]): string {
  if (rollouts.length === 0) return 'No rollouts yet. Plan one with `outpost rollout create --model MODEL_ID`.'
  return formatTable(
    ['ID', 'NAME', 'STATUS', 'WAVE', 'DEVICES', 'COMMITTED', 'FAILED', 'CREATED'],
    rollouts.map((rollout) => [
      rollout.rolloutId,
      rollout.spec.name,
      rollout.status,
      rollout.currentWave === null ? '-' : `${rollout.currentWave + 1}/${rollout.waves.length}`,
      String(rollout.deviceCount),
      String(rollout.outcomes.committed ?? 0),
      String(rollout.outcomes.failed ?? 0),
      formatInstant(rollout.createdAt),
    ]),
  )
}

function formatDuration(ms: number | null): string {
  if (ms === null) return '-'
  const minutes = Math.round(ms / 60_000)
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`
}

export function formatDryRun(result: DryRunResult): string {
  const summary = formatPairs([
    ['outcome', result.outcome + (result.haltReasons.length > 0 ? ` (${result.haltReasons.join(', ')})` : '')],
    ['devices', `${result.deviceCount} (${result.skippedIncompatibleCount} incompatible)`],
    ['exposed', `${result.exposedCount} device(s) got the release${result.outcome === 'halted' ? ' before the halt' : ''}`],
    ['time to 100%', formatDuration(result.timeToCompleteMs)],
    ['simulated', formatDuration(result.simulatedMs)],
  ])
  const waves = formatTable(
    ['WAVE', 'DEVICES', 'STARTS', 'ENDS'],
    result.waves.map((wave) => [String(wave.index + 1), `${wave.deviceCount} (${wave.cumulativeDeviceCount} total)`, formatDuration(wave.startedAtMs), formatDuration(wave.finishedAtMs)]),
  )
  const events = result.timeline.filter((point) => point.event !== null).map((point) => `  +${formatDuration(point.atMs)}  ${point.event ?? ''}`)
  return `${summary}\n\n${waves}\n\nEvents:\n${events.join('\n')}`
}

function print(context: CliContext, isJson: boolean | undefined, value: unknown, text: () => string): number {
  context.stdout(isJson ? JSON.stringify(value, null, 2) : text())
  return 0
}

/** `outpost rollout create` */
export async function runRolloutCreate(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine('rollout create', args, { ...connectionFlags, ...specFlags, ...who, start: { type: 'boolean' } }, false)
  if (values.help) return help(context, usage.rolloutCreate)
  const spec = specFromFlags(values)
  const actor = actorOf(values.actor, context)
  const reason = values.reason ?? ''
  const detail = await withControlCenter(values, context, async (client) => {
    const created = await client.call('rollouts.create', { ...spec, actor, reason })
    return values.start ? client.call('rollouts.start', { rolloutId: created.rolloutId, actor, reason }) : created
  })
  return print(context, values.json, detail, () => `${formatRolloutDetail(detail)}\n\n${detail.status === 'draft' ? `Start it with \`outpost rollout start ${detail.rolloutId}\`.` : ''}`.trimEnd())
}

type SimpleAction = 'start' | 'pause' | 'resume' | 'approve' | 'retry'

function simpleAction(action: SimpleAction, helpText: string) {
  return async (args: readonly string[], context: CliContext): Promise<number> => {
    const { values, positionals } = parseCommandLine(`rollout ${action}`, args, { ...connectionFlags, ...who }, true)
    if (values.help) return help(context, helpText)
    const rolloutId = oneRolloutId(positionals, action)
    const detail = await withControlCenter(values, context, (client) =>
      client.call(`rollouts.${action}`, { rolloutId, actor: actorOf(values.actor, context), ...(values.reason === undefined ? {} : { reason: values.reason }) }),
    )
    return print(context, values.json, detail, () => formatRolloutDetail(detail))
  }
}

export const runRolloutStart = simpleAction('start', usage.rolloutStart)
export const runRolloutPause = simpleAction('pause', usage.rolloutAction)
export const runRolloutResume = simpleAction('resume', usage.rolloutAction)
export const runRolloutApprove = simpleAction('approve', usage.rolloutAction)
export const runRolloutRetry = simpleAction('retry', usage.rolloutAction)

function requiredReason(reason: string | undefined, command: string): string {
  if (reason === undefined || reason.trim() === '') throw new UsageError(`\`outpost rollout ${command}\` needs --reason TEXT; it goes into the audit log`)
  return reason
}

/** `outpost rollout abort ID --reason R [--rollback]` */
export async function runRolloutAbort(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('rollout abort', args, { ...connectionFlags, ...who, rollback: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.rolloutAbort)
  const rolloutId = oneRolloutId(positionals, 'abort')
  const reason = requiredReason(values.reason, 'abort')
  const detail = await withControlCenter(values, context, (client) =>
    client.call('rollouts.abort', { rolloutId, mode: values.rollback ? 'rollback' : 'keep', actor: actorOf(values.actor, context), reason }),
  )
  return print(context, values.json, detail, () => formatRolloutDetail(detail))
}

/** `outpost rollout rollback ID --reason R [--all]` */
export async function runRolloutRollback(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('rollout rollback', args, { ...connectionFlags, ...who, all: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.rolloutRollback)
  const rolloutId = oneRolloutId(positionals, 'rollback')
  const reason = requiredReason(values.reason, 'rollback')
  const detail = await withControlCenter(values, context, (client) =>
    client.call('rollouts.rollback', { rolloutId, scope: values.all ? 'all' : 'wave', actor: actorOf(values.actor, context), reason }),
  )
  return print(context, values.json, detail, () => formatRolloutDetail(detail))
}

/** `outpost rollout status [ID]` */
export async function runRolloutStatus(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('rollout status', args, { ...connectionFlags, json: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.rolloutStatus)
  if (positionals.length === 0) {
    const rollouts = await withControlCenter(values, context, (client) => client.call('rollouts.list', {}))
    return print(context, values.json, rollouts, () => formatRolloutList(rollouts))
  }
  const rolloutId = oneRolloutId(positionals, 'status')
  const detail = await withControlCenter(values, context, (client) => client.call('rollouts.status', { rolloutId }))
  return print(context, values.json, detail, () => formatRolloutDetail(detail))
}

/** `outpost rollout dry-run (ID | --model M ...)` */
export async function runRolloutDryRun(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'rollout dry-run',
    args,
    {
      ...connectionFlags,
      ...specFlags,
      json: { type: 'boolean' },
      synthetic: { type: 'string' },
      'failure-rate': { type: 'string' },
      'health-failure-rate': { type: 'string' },
      'online-ratio': { type: 'string' },
      'latency-ratio': { type: 'string' },
      'install-time': { type: 'string' },
      step: { type: 'string' },
      seed: { type: 'string' },
    },
    true,
  )
  if (values.help) return help(context, usage.rolloutDryRun)
  const simulation: Partial<SimulationInput> = {
    ...(values.synthetic === undefined ? {} : { syntheticDeviceCount: parseCount(values.synthetic, 'synthetic', 1, 100_000) }),
    ...(values['failure-rate'] === undefined ? {} : { failureRate: parseNumber(values['failure-rate'], 'failure-rate', 0, 1) }),
    ...(values['health-failure-rate'] === undefined ? {} : { healthFailureRate: parseNumber(values['health-failure-rate'], 'health-failure-rate', 0, 1) }),
    ...(values['online-ratio'] === undefined ? {} : { onlineRatio: parseNumber(values['online-ratio'], 'online-ratio', 0, 1) }),
    ...(values['latency-ratio'] === undefined ? {} : { latencyRatio: parseNumber(values['latency-ratio'], 'latency-ratio', 0.01, 100) }),
    ...(values['install-time'] === undefined ? {} : { installDurationMs: parseDuration(values['install-time'], 'install-time') }),
    ...(values.step === undefined ? {} : { timeStepMs: Math.max(1000, parseDuration(values.step, 'step')) }),
    ...(values.seed === undefined ? {} : { seed: parseCount(values.seed, 'seed', 0, 2 ** 31 - 1) }),
  }
  const input = positionals.length > 0 ? { rolloutId: oneRolloutId(positionals, 'dry-run'), simulation } : { spec: specFromFlags(values), simulation }
  const result = await withControlCenter(values, context, (client) => client.call('rollouts.dryRun', input))
  return print(context, values.json, result, () => formatDryRun(result))
}

/** `outpost rollout report ID [--format json|csv] [--out FILE]` */
export async function runRolloutReport(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('rollout report', args, { ...connectionFlags, format: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.rolloutReport)
  const rolloutId = oneRolloutId(positionals, 'report')
  const format = values.format ?? (values.out?.endsWith('.csv') ? 'csv' : 'json')
  if (format !== 'json' && format !== 'csv') throw new UsageError("--format is 'json' or 'csv'")
  const report = await withControlCenter(values, context, (client) => client.call('rollouts.report', { rolloutId, format }))
  if (values.out === undefined) {
    context.stdout(report.content.trimEnd())
    return 0
  }
  const outFile = path.resolve(context.cwd, values.out)
  writeFileSync(outFile, report.content)
  return print(context, values.json, { out: outFile, format }, () => `Wrote the ${format.toUpperCase()} report of ${rolloutId} to ${outFile}`)
}

/** `outpost rollout audit [ID]` */
export async function runRolloutAudit(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('rollout audit', args, { ...connectionFlags, limit: { type: 'string' }, json: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.rolloutAudit)
  const rolloutId = positionals.length === 0 ? undefined : oneRolloutId(positionals, 'audit')
  const limit = values.limit === undefined ? 200 : parseCount(values.limit, 'limit', 1, 10_000)
  const trail = await withControlCenter(values, context, (client) => client.call('rollouts.audit', { ...(rolloutId === undefined ? {} : { rolloutId }), limit }))
  print(context, values.json, trail, () => {
    const rows = trail.entries.map((entry: AuditLogEntry) => [String(entry.seq), formatInstant(entry.at), entry.actor, entry.action, entry.subject, entry.reason])
    const verdict = trail.verification.isValid ? `chain intact (${trail.verification.entryCount} entries)` : `CHAIN BROKEN at entry ${trail.verification.seq}: ${trail.verification.message}`
    return `${formatTable(['SEQ', 'AT', 'WHO', 'ACTION', 'ROLLOUT', 'WHY'], rows)}\n\n${verdict}`
  })
  return trail.verification.isValid ? 0 : 1
}

function help(context: CliContext, text: string): number {
  context.stdout(text)
  return 0
}
