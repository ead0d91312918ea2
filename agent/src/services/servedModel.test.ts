import { describe, expect, it } from 'vitest'
import type { LoadedModel } from '../ports/modelRuntime.ts'
import { type ServedEntry, ServedModel } from './servedModel.ts'

/** A model whose runs finish when the test says so, and which records when it is closed. */
function aModel(name: string, events: string[]) {
  const pending: Array<() => void> = []
  const model: LoadedModel = {
    executionProvider: 'cpu',
    loadFailures: [],
    inputs: [],
    outputs: [],
    run: () =>
      new Promise((resolve) => {
        events.push(`${name} run`)
        pending.push(() => resolve({}))
      }),
    close: async () => {
      events.push(`${name} closed`)
    },
  }
  return { model, finishRuns: () => pending.splice(0).forEach((finish) => finish()) }
}

const entryOf = (model: LoadedModel, sha: string): ServedEntry => ({
  pointer: { slot: 'a', model: { modelId: 'm-0123456789ab', name: 'n', version: '1', sha256: sha.repeat(64) }, sizeBytes: 1, activatedAt: '' },
  model,
  executionProviderFallback: null,
})

describe('ServedModel', () => {
  it('lets calls in flight finish on the old session and closes it only after they drain', async () => {
    const events: string[] = []
    const old = aModel('old', events)
    const next = aModel('new', events)
    const served = new ServedModel(() => {})
    served.swap(entryOf(old.model, 'a'))
    const inFlight = served.use(async (entry) => {
      await entry.model.run({})
      return entry.pointer.model.sha256
    })
    served.swap(entryOf(next.model, 'b'))
    const after = served.use(async (entry) => entry.pointer.model.sha256)
    expect(await after).toBe('b'.repeat(64))
    await Promise.resolve()
    expect(events).toEqual(['old run'])
    old.finishRuns()
    expect(await inFlight).toBe('a'.repeat(64))
    await served.settled()
    expect(events).toEqual(['old run', 'old closed'])
    await served.close()
    expect(events).toEqual(['old run', 'old closed', 'new closed'])
  })

  it('refuses calls with unavailable when nothing is served', async () => {
    await expect(new ServedModel(() => {}).use(async () => 1)).rejects.toMatchObject({ code: 'unavailable' })
  })
})
