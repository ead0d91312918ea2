import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'

/** Pushes changes to connected UIs (the backend maps these onto the contract's events). Never throws. */
export interface Notifier {
  deviceChanged(device: DeviceSummary): void
  modelChanged(model: ModelSummary): void
}
