import type { StateCreator } from 'zustand'
import type { PackagingSlice } from '../features/packaging/packagingSlice.ts'
import type { ReleasesSlice } from '../features/releases/releasesSlice.ts'
import type { RolloutsSlice } from '../features/rollouts/rolloutsSlice.ts'
import type { TelemetrySlice } from '../features/telemetry/telemetrySlice.ts'
import type { DevicesSlice } from './devicesSlice.ts'
import type { ModelsSlice } from './modelsSlice.ts'
import type { SystemSlice } from './systemSlice.ts'
import type { UiSlice } from './uiSlice.ts'

export type AppState = DevicesSlice & ModelsSlice & PackagingSlice & ReleasesSlice & RolloutsSlice & SystemSlice & TelemetrySlice & UiSlice

/** A slice sees the whole state through get(), so cross-slice actions stay typed. */
export type SliceCreator<Slice> = StateCreator<AppState, [], [], Slice>
