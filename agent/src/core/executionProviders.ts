/** Which execution providers a model session tries, and in what order (issue 5: TensorRT … CPU). Pure. */
import type { ExecutionProviderProbe } from '../../../src-shared/domain/device.ts'

/** The order used when neither the device nor the release states one: fastest first, CPU as the last resort. */
export const DEFAULT_EXECUTION_PROVIDER_ORDER = ['tensorrt', 'cuda', 'webgpu', 'dml', 'coreml', 'cpu'] as const

export interface ProviderPlan {
  /** Providers to try when creating the session, best first; always ends with 'cpu'. */
  providers: string[]
  /** Providers the configuration asked for that are left out, each with why ("cuda: libcudart.so.12 missing"). */
  skipped: string[]
}

export interface ProviderPreferences {
  /** The device's own order (`--execution-providers`); wins over the release's. */
  deviceOrder?: readonly string[] | undefined
  /** The release's order (the directive's `executionProviders`). */
  releaseOrder?: readonly string[] | undefined
  /** What the probe found on this machine. */
  probes: readonly ExecutionProviderProbe[]
}

export function planExecutionProviders(preferences: ProviderPreferences): ProviderPlan {
  const configured = [preferences.deviceOrder, preferences.releaseOrder].find((order) => order !== undefined && order.length > 0)
  const order = [...new Set([...(configured ?? DEFAULT_EXECUTION_PROVIDER_ORDER), 'cpu'].map((name) => name.trim().toLowerCase()))]
  const providers: string[] = []
  const skipped: string[] = []
  for (const name of order) {
    const probe = preferences.probes.find((entry) => entry.name === name)
    // CPU is the floor: tried even if the probe missed it, so a device with a model never ends up serving nothing.
    if (name === 'cpu' || probe?.isAvailable === true) {
      providers.push(name)
      continue
    }
    // Missing providers from the default order are expected on most machines; only an explicit wish is news.
    if (configured === undefined) continue
    skipped.push(`${name}: ${probe === undefined ? 'not built into this onnxruntime' : (probe.reason ?? 'not available')}`)
  }
  return { providers, skipped }
}

/** One line saying why the session is not on the first choice, or null when nothing fell back. */
export function describeFallback(plan: ProviderPlan, loadFailures: readonly string[]): string | null {
  const reasons = [...plan.skipped, ...loadFailures]
  return reasons.length === 0 ? null : reasons.join('; ').slice(0, 500)
}

/** Parses `--execution-providers cuda,cpu`; undefined when empty. */
export function parseProviderList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined
  const names = text
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '')
  return names.length === 0 ? undefined : names
}
