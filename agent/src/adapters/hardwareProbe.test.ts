import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Hardware } from '../../../src-shared/domain/device.ts'
import { makeTempDir } from '../testSupport/testAgent.ts'
import { listAcceleratorNodes, probeHardware } from './hardwareProbe.ts'

describe('hardwareProbe', () => {
  it('lists NVIDIA, DRM, accel and Edge TPU nodes and nothing else', async () => {
    const dev = await makeTempDir('outpost-dev-')
    try {
      await mkdir(join(dev.path, 'dri'))
      await mkdir(join(dev.path, 'accel'))
      for (const name of ['nvidia0', 'nvidiactl', 'accel0', 'apex_0', 'tty0', 'null', 'dri/renderD128', 'dri/card0', 'accel/accel1']) {
        await writeFile(join(dev.path, name), '')
      }
      const found = (await listAcceleratorNodes(dev.path)).map((path) => path.slice(dev.path.length))
      expect(found.sort()).toEqual(['/accel/accel1', '/accel0', '/apex_0', '/dri/card0', '/dri/renderD128', '/nvidia0', '/nvidiactl'])
    } finally {
      await dev.remove()
    }
  })

  it('describes this machine within the wire schema', async () => {
    const hardware = await probeHardware()
    expect(Hardware.parse(hardware)).toEqual(hardware)
    expect(hardware.cpuCount).toBeGreaterThan(0)
    expect(hardware.memoryBytes).toBeGreaterThan(0)
  })
})
