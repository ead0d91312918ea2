/** The telemetry and drift part of the handler table: contract method -> DriftService call, one line each. */
import type { OutpostMethods } from '../../src-shared/contract/index.ts'
import type { telemetryMethods } from '../../src-shared/contract/telemetryContract.ts'
import type { Handlers } from '../../src-shared/rpc/types.ts'
import type { DriftService } from '../services/driftService.ts'

export type TelemetryHandlers = Pick<Handlers<OutpostMethods>, keyof typeof telemetryMethods>

export function createTelemetryHandlers(drift: DriftService): TelemetryHandlers {
  return {
    'telemetry.overview': async () => drift.overview(),
    'telemetry.latency': async (input) => drift.latency(input),
    'telemetry.predictions': async (input) => drift.predictions(input),
    'telemetry.window': async ({ deviceId, reportSeq }) => drift.window(deviceId, reportSeq),
    'telemetry.alerts': async (input) => drift.alerts(input),
    'drift.references': async () => drift.references(),
    'drift.registerReference': async ({ modelSha256, reference, label }) => drift.registerReference(modelSha256, reference, label),
    'drift.settings': async () => drift.settings(),
    'drift.updateSettings': async (changes) => drift.updateSettings(changes),
    'drift.heatmap': async (input) => drift.heatmap(input),
    'drift.overlay': async (input) => drift.overlay(input),
    'drift.device': async (input) => drift.device(input),
    'devices.tag': async ({ deviceId, tags }) => drift.tagDevice(deviceId, tags),
  }
}
