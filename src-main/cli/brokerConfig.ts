/**
 * `outpost broker-config mosquitto`: the configuration, password file and ACL that make an external mosquitto 2.x
 * enforce what the embedded broker enforces (anchors-security.md §7.1, §10.10): every client authenticates, a
 * device's username is its client id, a device publishes only under its own `up/` subtree and reads only its own
 * `down/` subtree, and the control center (user `control-center`) reads and writes `outpost/#`.
 *
 * mosquitto stores password hashes (PBKDF2-SHA512, its `$7$` format), so it needs each plaintext password once.
 * The control center only keeps scrypt hashes, so devices get their mosquitto entries from credentials issued now:
 * a credentials file from `outpost devices enroll --out`, or `--reissue`, which re-enrolls every device through the
 * running control center. Entries already in the password file are kept, so the command can be run again.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { DeviceId } from '../../src-shared/domain/ids.ts'
import { AppError } from '../../src-shared/errors.ts'
import { MAX_CHUNK_LIST_BYTES } from '../../src-shared/protocol/messages.ts'
import { TOPIC_ROOT } from '../../src-shared/protocol/topics.ts'
import { ensureDataDir, readOrCreateBrokerSecret, BROKER_SECRET_FILE_NAME } from '../adapters/fs/dataDir.ts'
import { CONTROL_CENTER_USERNAME } from '../core/fleet/brokerIdentity.ts'
import type { CliContext } from './cliContext.ts'
import { connectionFlags, resolveDataDir, withControlCenter } from './connectToControlCenter.ts'
import { parseCommandLine, parsePort, UsageError } from './flags.ts'
import { usage } from './usage.ts'

export const MOSQUITTO_FILES = { config: 'mosquitto.conf', passwords: 'passwords', acl: 'acl', credentials: 'device-credentials.json' } as const

/** mosquitto_passwd's default. The passwords are 24 random bytes, so more rounds would add connect cost, not safety. */
const PBKDF2_ITERATIONS = 101
/** Chunk lists of large models plus the envelope; mosquitto has one limit for all users (the embedded broker's control-center limit). */
const MESSAGE_SIZE_LIMIT_BYTES = MAX_CHUNK_LIST_BYTES + 64 * 1024

const CredentialsFile = z.object({
  devices: z.array(z.object({ deviceId: DeviceId, username: z.string(), password: z.string().min(1).max(256) })).max(100_000),
})

export interface DeviceCredential {
  deviceId: string
  password: string
}

/** One password-file line in mosquitto's `$7$` format: `user:$7$ITERATIONS$base64(salt)$base64(pbkdf2-sha512)`. */
export function mosquittoPasswordLine(username: string, password: string, salt: Buffer = randomBytes(12)): string {
  const hash = pbkdf2Sync(password, salt, PBKDF2_ITERATIONS, 64, 'sha512')
  return `${username}:$7$${PBKDF2_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`
}

/** Existing entries by username, so devices configured by an earlier run keep working. */
export function parsePasswordFile(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  for (const line of text.split('\n')) {
    const separator = line.indexOf(':')
    if (separator <= 0 || line.startsWith('#')) continue
    entries.set(line.slice(0, separator), line.trim())
  }
  return entries
}

export function mosquittoAcl(): string {
  return `# Outpost topic ACL for mosquitto, written by \`outpost broker-config mosquitto\` (anchors-security.md §10.10).
# %u is the username, which use_username_as_clientid makes the client id too: a device can act only as itself.
# Devices publish only under their own up/ subtree and read only their own down/ subtree.
pattern write ${TOPIC_ROOT}/d/%u/up/#
pattern read ${TOPIC_ROOT}/d/%u/down/#

# The control center reads every device's reports and sends directives, commands and artifact chunks.
user ${CONTROL_CENTER_USERNAME}
topic readwrite outpost/#
`
}

export interface MosquittoConfigOptions {
  outDir: string
  host: string
  port: number
  isPersistent: boolean
  /** Written as `user NAME`: the account mosquitto switches to when started as root. */
  runAsUser?: string
}

export function mosquittoConfig(options: MosquittoConfigOptions): string {
  const file = (name: string) => path.join(options.outDir, name)
  const persistence = options.isPersistent
    ? `# A cache only: agents re-sync on every connect, so nothing depends on what survives a broker restart.
persistence true
persistence_location ${file('mosquitto-data')}${path.sep}
autosave_interval 60`
    : `# Off (--no-persistence): agents re-sync on every connect, so nothing depends on broker state.
persistence false`
  return `# Outpost broker for mosquitto 2.x, written by \`outpost broker-config mosquitto\`. Start: mosquitto -c ${file(MOSQUITTO_FILES.config)}
# After running the command again, reload the password file and ACL with: kill -HUP <mosquitto pid>
${
    options.runAsUser === undefined
      ? '# Started as root, mosquitto switches to the user "mosquitto", which owns the files below.'
      : `# No "mosquitto" account exists here, so a broker started as root stays ${options.runAsUser}.\nuser ${options.runAsUser}`
  }
per_listener_settings false
allow_anonymous false
# Device identity: the MQTT username is the client id, so one device cannot take over another's session.
use_username_as_clientid true
password_file ${file(MOSQUITTO_FILES.passwords)}
acl_file ${file(MOSQUITTO_FILES.acl)}

listener ${options.port} ${options.host}
protocol mqtt

# 128 KiB chunks and large chunk lists fit; the control center and the agents drop anything over their own caps.
message_size_limit ${MESSAGE_SIZE_LIMIT_BYTES}
max_inflight_messages 20
max_queued_messages 100
max_keepalive 120
persistent_client_expiration 14d

${persistence}

log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true
`
}

function readCredentialsFile(file: string): DeviceCredential[] {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new UsageError(`Cannot read credentials file ${file} (${reason.split('\n')[0] ?? ''})`)
  }
  const parsed = CredentialsFile.safeParse(json)
  if (!parsed.success) throw new UsageError(`Credentials file ${file} is not {"devices":[{"deviceId","username","password"}]}`)
  for (const entry of parsed.data.devices) {
    if (entry.username !== entry.deviceId) throw new UsageError(`In ${file}, ${entry.deviceId} has username ${entry.username}; they must be equal`)
  }
  return parsed.data.devices.map(({ deviceId, password }) => ({ deviceId, password }))
}

/** The uid and gid of the `mosquitto` account, which a broker started as root switches to. */
function mosquittoAccount(): { uid: number; gid: number } | undefined {
  let passwd: string
  try {
    passwd = readFileSync('/etc/passwd', 'utf8')
  } catch {
    return undefined
  }
  const fields = passwd.split('\n').find((line) => line.startsWith('mosquitto:'))?.split(':')
  const uid = Number(fields?.[2])
  const gid = Number(fields?.[3])
  return Number.isInteger(uid) && Number.isInteger(gid) && fields !== undefined ? { uid, gid } : undefined
}

function writeFile(file: string, text: string, mode: number): void {
  writeFileSync(file, text, { mode })
  // writeFileSync keeps the mode of a file that already exists.
  chmodSync(file, mode)
}

/** `outpost broker-config mosquitto --out DIR` */
export async function runBrokerConfig(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'broker-config',
    args,
    {
      ...connectionFlags,
      out: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      credentials: { type: 'string' },
      reissue: { type: 'boolean' },
      'no-persistence': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    true,
  )
  if (values.help) {
    context.stdout(usage.brokerConfig)
    return 0
  }
  if (positionals.length !== 1 || positionals[0] !== 'mosquitto') throw new UsageError('Name the broker: `outpost broker-config mosquitto --out DIR`')
  if (values.out === undefined) throw new UsageError('Pass --out DIR, the folder for mosquitto.conf, passwords and acl')
  const port = parsePort(values.port, 'port', 1883)
  if (port === 0) throw new UsageError('--port must name the port mosquitto listens on (1 to 65535)')
  const host = values.host ?? '127.0.0.1'
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw new UsageError(`--host '${host}' is not an address`)
  const outDir = path.resolve(context.cwd, values.out)
  const dataDir = resolveDataDir(values['data-dir'], context)

  const devices = values.credentials === undefined ? [] : readCredentialsFile(path.resolve(context.cwd, values.credentials))
  let reissuedFile: string | undefined
  if (values.reissue) {
    const reissued = await withControlCenter(values, context, async (client) => {
      const credentials: DeviceCredential[] = []
      for (const device of await client.call('devices.list', {})) {
        const issued = await client.call('devices.enroll', { deviceId: device.deviceId })
        credentials.push({ deviceId: issued.deviceId, password: issued.password })
      }
      return credentials
    })
    devices.push(...reissued)
    reissuedFile = path.join(outDir, MOSQUITTO_FILES.credentials)
  }

  ensureDataDir(dataDir)
  const secret = readOrCreateBrokerSecret(dataDir)
  try {
    mkdirSync(outDir, { recursive: true, mode: 0o700 })
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown'
    throw new AppError('data-dir-unwritable', `Cannot create ${outDir} (${code}); choose another --out`, { outDir })
  }
  // Run as root, mosquitto drops to the `mosquitto` account: the files must be that account's (still 0600/0700).
  const isRoot = process.getuid?.() === 0
  const account = isRoot ? mosquittoAccount() : undefined
  const passwordsFile = path.join(outDir, MOSQUITTO_FILES.passwords)
  const entries = existsSync(passwordsFile) ? parsePasswordFile(readFileSync(passwordsFile, 'utf8')) : new Map<string, string>()
  entries.set(CONTROL_CENTER_USERNAME, mosquittoPasswordLine(CONTROL_CENTER_USERNAME, secret))
  for (const device of devices) entries.set(device.deviceId, mosquittoPasswordLine(device.deviceId, device.password))

  writeFile(passwordsFile, `${[...entries.values()].join('\n')}\n`, 0o600)
  writeFile(path.join(outDir, MOSQUITTO_FILES.acl), mosquittoAcl(), 0o644)
  const configFile = path.join(outDir, MOSQUITTO_FILES.config)
  const isPersistent = values['no-persistence'] !== true
  const config = { outDir, host, port, isPersistent, ...(isRoot && account === undefined ? { runAsUser: 'root' } : {}) }
  writeFile(configFile, mosquittoConfig(config), 0o644)
  const persistenceDir = path.join(outDir, 'mosquitto-data')
  if (isPersistent) mkdirSync(persistenceDir, { recursive: true, mode: 0o700 })
  if (account !== undefined) {
    for (const file of [outDir, passwordsFile, path.join(outDir, MOSQUITTO_FILES.acl), configFile, ...(isPersistent ? [persistenceDir] : [])]) {
      chownSync(file, account.uid, account.gid)
    }
  }
  if (reissuedFile !== undefined) {
    const file = { devices: devices.map(({ deviceId, password }) => ({ deviceId, username: deviceId, password })) }
    writeFile(reissuedFile, `${JSON.stringify(file, null, 2)}\n`, 0o600)
  }

  const brokerUrl = `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`
  const secretFile = path.join(dataDir, BROKER_SECRET_FILE_NAME)
  if (values.json) {
    context.stdout(
      JSON.stringify({
        configFile,
        passwordsFile,
        aclFile: path.join(outDir, MOSQUITTO_FILES.acl),
        credentialsFile: reissuedFile ?? null,
        brokerUrl,
        controlCenterUsername: CONTROL_CENTER_USERNAME,
        controlCenterSecretFile: secretFile,
        deviceCount: entries.size - 1,
      }),
    )
    return 0
  }
  context.stdout(
    [
      `Wrote ${configFile}, ${MOSQUITTO_FILES.passwords} (${CONTROL_CENTER_USERNAME} and ${entries.size - 1} device(s)) and ${MOSQUITTO_FILES.acl}.`,
      `  Start the broker:          mosquitto -c ${configFile}`,
      `  Start the control center:  OUTPOST_BROKER_PASSWORD="$(cat ${secretFile})" outpost serve --data-dir ${dataDir} --broker ${brokerUrl} --broker-username ${CONTROL_CENTER_USERNAME}`,
      reissuedFile === undefined
        ? '  Add devices:               outpost devices enroll --count N --out creds.json, then run this command again with --credentials creds.json'
        : `  Agents:                    outpost-agent --simulate N --broker ${brokerUrl} --credentials ${reissuedFile}`,
      '  After a later run:         kill -HUP <mosquitto pid> reloads the passwords and the ACL',
    ].join('\n'),
  )
  return 0
}
