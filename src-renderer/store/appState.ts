import type { StateCreator } from 'zustand'
import type { DevicesSlice } from './devicesSlice.ts'
import type { ModelsSlice } from './modelsSlice.ts'
import type { SystemSlice } from './systemSlice.ts'
import type { UiSlice } from './uiSlice.ts'

export type AppState = DevicesSlice & ModelsSlice & SystemSlice & UiSlice

/** A slice sees the whole state through get(), so cross-slice actions stay typed. */
export type SliceCreator<Slice> = StateCreator<AppState, [], [], Slice>
