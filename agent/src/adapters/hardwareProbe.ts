/** Reads what the machine offers: OS, CPU, memory and accelerator device nodes. Reported as seen, never assumed. */
import { readdir } from 'node:fs/promises'
import { arch, availableParallelism, cpus, hostname, platform, release, totalmem } from 'node:os'
import { memoryUsage } from 'node:process'
import type { Hardware } from '../../../src-shared/domain/device.ts'

/** Device nodes of GPUs and NPUs: NVIDIA, DRM render/card nodes, the kernel accel subsystem, Coral Edge TPU. */
const ACCELERATOR_NODE = /^(nvidia.*|accel\d+|apex_\d+)$/

async function listDirectory(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort()
  } catch {
    return []
  }
}

export async function listAcceleratorNodes(deviceRoot = '/dev'): Promise<string[]> {
  const found: string[] = []
  for (const name of await listDirectory(deviceRoot)) {
    if (ACCELERATOR_NODE.test(name)) found.push(`${deviceRoot}/${name}`)
  }
  for (const name of await listDirectory(`${deviceRoot}/dri`)) found.push(`${deviceRoot}/dri/${name}`)
  // Newer kernels put accel nodes in /dev/accel/accel0 rather than /dev/accel0.
  for (const name of await listDirectory(`${deviceRoot}/accel`)) found.push(`${deviceRoot}/accel/${name}`)
  return [...new Set(found)].filter((path) => path.length <= 128).slice(0, 64)
}

export async function probeHardware(): Promise<Hardware> {
  const processors = cpus()
  return {
    arch: arch().slice(0, 32),
    platform: platform().slice(0, 32),
    osRelease: release().slice(0, 128),
    hostname: hostname().slice(0, 128),
    cpuModel: (processors[0]?.model ?? 'unknown').trim().slice(0, 256),
    cpuCount: processors.length > 0 ? processors.length : availableParallelism(),
    memoryBytes: totalmem(),
    accelerators: await listAcceleratorNodes(),
  }
}

/** Resident set size of this process, for heartbeats and telemetry windows. */
export function readRssBytes(): number {
  return memoryUsage.rss()
}
