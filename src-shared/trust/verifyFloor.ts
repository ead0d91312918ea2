/**
 * Security floor records (anchors-security.md §10.3, §10.9): signed by the release role, they raise the lowest
 * release counter a model may run. Nothing lowers a floor; an expired record is refused but the floor it set stays.
 */
import { checkThreshold, decodeEnvelope, thresholdRejection } from './envelope.ts'
import { effectiveNowMs, type DeviceTrustState } from './deviceTrustState.ts'
import { FloorRecord, instantMs, parsePayload } from './metadata.ts'
import { roleKeys, type TrustContext } from './verifyRoot.ts'
import { isRejection, reject, type TrustRejection } from './trustErrors.ts'

export const MAX_FLOOR_RECORDS_PER_SYNC = 64

export type FloorResult = { verdict: 'accept'; newState: DeviceTrustState; records: FloorRecord[] } | TrustRejection

export function applyFloorRecords(state: DeviceTrustState, floorEnvelopes: readonly Uint8Array[], context: TrustContext): FloorResult {
  if (floorEnvelopes.length > MAX_FLOOR_RECORDS_PER_SYNC) {
    return reject('floor', 'oversized', `${floorEnvelopes.length} floor records in one sync; at most ${MAX_FLOOR_RECORDS_PER_SYNC} are read`)
  }
  const nowMs = effectiveNowMs(state, context.nowMs)
  const keys = roleKeys(context.sha256, state.root, 'release', 'floor')
  if (isRejection(keys)) return keys
  let floors = state.floors
  let trustedTimeMs = nowMs
  const records: FloorRecord[] = []
  for (const bytes of floorEnvelopes) {
    const decoded = decodeEnvelope(bytes, 'floor', 'floor')
    if (decoded.verdict === 'reject') return decoded
    const threshold = checkThreshold(decoded.envelope, keys)
    if (!threshold.isMet) return thresholdRejection('floor', 'floor record', keys, threshold)
    const parsed = parsePayload(FloorRecord, decoded.envelope.payloadBytes, 'floor', 'floor record')
    if (parsed.verdict === 'reject') return parsed
    const record = parsed.value
    if (instantMs(record.expires) <= nowMs) {
      return reject('floor', 'metadata-expired', `The floor record for ${record.model_id} (version ${record.version}) expired at ${record.expires}`)
    }
    const current = Object.hasOwn(floors, record.model_id) ? floors[record.model_id] : undefined
    if (current !== undefined) {
      if (record.version < current.version) {
        return reject('floor', 'rollback-detected', `Floor record version ${record.version} for ${record.model_id} is older than the trusted version ${current.version}`)
      }
      if (record.min_release_counter < current.minReleaseCounter) {
        return reject(
          'floor',
          'rollback-detected',
          `The floor record would lower the floor of ${record.model_id} from ${current.minReleaseCounter} to ${record.min_release_counter}; floors only rise`,
        )
      }
      if (record.version === current.version && record.min_release_counter !== current.minReleaseCounter) {
        return reject('floor', 'rollback-detected', `Two different floor records for ${record.model_id} carry version ${record.version}`)
      }
    }
    floors = { ...floors, [record.model_id]: { minReleaseCounter: record.min_release_counter, version: record.version } }
    trustedTimeMs = Math.max(trustedTimeMs, instantMs(record.issued))
    records.push(record)
  }
  return { verdict: 'accept', newState: { ...state, floors, trustedTimeMs }, records }
}
