import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { EvaluateRequest, OptimizeRequest } from '../../../src-shared/contract/packagingContract.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { aModel } from '../../testing/builders.ts'
import { renderWithServer } from '../../testing/renderWithServer.tsx'
import { ModelsPage } from '../models/ModelsPage.tsx'
import { aModelCard, anEvaluation, anEvaluationResult, anInspection } from './packagingBuilders.ts'

afterEach(cleanup)

const source = aModel()
const candidate = aModel({ modelId: 'm-cdcdcdcdcdcd', name: 'tiny-classifier-int8', sha256: 'cd'.repeat(32), sizeBytes: 2327, importedAt: '2025-01-02T00:00:00.000Z' })

/** A promise the test settles by hand, to look at the page while a call is still running. */
function deferred<Value>() {
  let resolve: (value: Value) => void = () => {}
  const promise = new Promise<Value>((settle) => (resolve = settle))
  return { promise, resolve }
}

const decodeBase64 = (text: string) => Uint8Array.from(atob(text), (character) => character.charCodeAt(0))

describe('Inspect', () => {
  it('shows I/O, opsets, producer, parameters by dtype, operators, custom ops and warnings of the model', async () => {
    const inspected: string[] = []
    renderWithServer(<ModelsPage />, {
      models: [source],
      packaging: {
        'models.inspect': async ({ modelId }) => {
          inspected.push(modelId)
          return anInspection()
        },
        'models.card': async ({ modelId }) => ({ modelId, card: null, lastEvaluation: null }),
      },
    })
    fireEvent.click(await screen.findByTestId('model-inspect-m-0123456789ab'))
    const panel = await screen.findByTestId('inspect-panel')
    await within(panel).findByTestId('inspect-inputs')
    expect(inspected).toEqual(['m-0123456789ab'])
    expect(within(panel).getByTestId('inspect-inputs').textContent).toBe('features float32 [batch, 16]')
    expect(within(panel).getByTestId('inspect-outputs').textContent).toBe('probabilities float32 [batch, 4]')
    expect(within(panel).getByTestId('inspect-opsets').textContent).toBe('ai.onnx 13, com.microsoft 1')
    expect(within(panel).getByTestId('inspect-facts').textContent).toContain('pytorch 2.3.0')
    expect(within(panel).getByTestId('inspect-dtypes').textContent).toContain('float32676')
    expect(within(panel).getByTestId('inspect-custom-ops').textContent).toContain('custom.ops.FancyGelu ×1')
    expect(within(panel).getByTestId('inspect-warnings').textContent).toContain('needs a kernel')
    const operatorRows = within(within(panel).getByTestId('inspect-operators')).getAllByRole('row')
    expect(operatorRows).toHaveLength(6)
    expect(within(panel).queryByTestId('inspect-card')).toBeNull()
  })

  it('shows the model card of a derived model and a failed inspection with its code', async () => {
    const { server } = renderWithServer(<ModelsPage />, {
      models: [source, candidate],
      packaging: {
        'models.inspect': async () => anInspection(),
        'models.card': async ({ modelId }) => ({ modelId, card: modelId === candidate.modelId ? aModelCard() : null, lastEvaluation: null }),
      },
    })
    fireEvent.click(await screen.findByTestId('model-inspect-m-cdcdcdcdcdcd'))
    const card = await screen.findByTestId('inspect-card')
    expect(card.textContent).toContain('tiny-classifier@1.0.0')
    expect(card.textContent).toContain('int8-dynamic')
    expect(card.textContent).toContain('2 nodes; 0 kept in float')

    server.failNext('models.inspect', new AppError('model-invalid', 'The file is not a readable ONNX model'))
    fireEvent.click(screen.getByTestId('model-inspect-m-0123456789ab'))
    const notice = await within(await screen.findByTestId('inspect-panel')).findByTestId('error-notice')
    expect(notice.dataset.errorCode).toBe('model-invalid')
  })
})

describe('Optimize', () => {
  it('sends the recipe and options, follows its progress events and shows the derived model', async () => {
    const requests: OptimizeRequest[] = []
    const release = deferred<void>()
    const { server } = renderWithServer(<ModelsPage />, {
      models: [source],
      packaging: {
        'models.optimize': async (request) => {
          requests.push(request)
          const operationId = request.operationId ?? ''
          server.hub.emit('packaging.progressed', { operationId: 'someone-else', operation: 'optimize', modelId: source.modelId, phase: 'verifying', fraction: 0.9 })
          server.hub.emit('packaging.progressed', { operationId, operation: 'optimize', modelId: source.modelId, phase: 'calibration-histogram', fraction: 0.5 })
          await release.promise
          const model = { ...candidate, name: 'tiny-classifier-int8-static' }
          server.models.set(model.modelId, model)
          return { operationId, model, card: aModelCard({ recipe: 'int8-static', options: { method: 'entropy', perChannel: true, graphLevel: null } }) }
        },
      },
    })
    fireEvent.click(await screen.findByTestId('model-optimize-m-0123456789ab'))
    expect(screen.queryByTestId('optimize-method')).toBeNull()
    fireEvent.change(screen.getByTestId('optimize-recipe'), { target: { value: 'int8-static' } })
    fireEvent.change(screen.getByTestId('optimize-method'), { target: { value: 'entropy' } })
    fireEvent.click(screen.getByTestId('optimize-per-channel'))
    fireEvent.change(screen.getByTestId('optimize-synthetic-count'), { target: { value: '32' } })
    fireEvent.click(screen.getByTestId('optimize-submit'))

    const progress = await screen.findByTestId<HTMLProgressElement>('optimize-progress')
    await waitFor(() => expect(progress.dataset.phase).toBe('calibration-histogram'))
    expect(progress.value).toBe(0.5)
    expect(screen.getByTestId<HTMLButtonElement>('optimize-submit').disabled).toBe(true)
    await act(async () => release.resolve())

    const result = await screen.findByTestId('optimize-result')
    expect(result.textContent).toContain('Created tiny-classifier-int8-static@1.0.0')
    expect(screen.queryByTestId('optimize-progress')).toBeNull()
    expect(requests).toEqual([
      {
        modelId: source.modelId,
        recipe: 'int8-static',
        method: 'entropy',
        perChannel: true,
        calibrationFromModelInputs: { count: 32, seed: 1 },
        operationId: expect.stringMatching(/^ui-/) as string,
      },
    ])
    // The derived model is listed at once, with its own packaging buttons.
    expect(await screen.findByTestId('model-inspect-m-cdcdcdcdcdcd')).toBeTruthy()
    fireEvent.click(within(result).getByTestId('optimize-compare'))
    expect(await screen.findByTestId('compare-panel')).toBeTruthy()
  })

  it('uploads a calibration file and shows a refusal with its code', async () => {
    const uploads: Uint8Array[] = []
    renderWithServer(<ModelsPage />, {
      models: [source],
      packaging: {
        'models.optimize': async (request) => {
          if (request.calibrationUploadBase64 !== undefined) uploads.push(decodeBase64(request.calibrationUploadBase64))
          throw new AppError('invalid-input', "The calibration set calib.npz: the array 'features' [8, 12] does not fit the model input 'features' [batch, 16]")
        },
      },
    })
    fireEvent.click(await screen.findByTestId('model-optimize-m-0123456789ab'))
    fireEvent.change(screen.getByTestId('optimize-recipe'), { target: { value: 'int8-static' } })
    fireEvent.click(screen.getByTestId('optimize-calibration-upload'))
    expect(screen.getByTestId<HTMLButtonElement>('optimize-submit').disabled).toBe(true)
    const file = new File([Uint8Array.from([0x50, 0x4b, 3, 4])], 'calib.npz')
    fireEvent.change(screen.getByTestId('optimize-calibration-file'), { target: { files: [file] } })
    fireEvent.click(screen.getByTestId('optimize-submit'))
    const notice = await within(screen.getByTestId('optimize-panel')).findByTestId('error-notice')
    expect(notice.dataset.errorCode).toBe('invalid-input')
    expect(notice.textContent).toContain('does not fit the model input')
    expect(uploads).toEqual([Uint8Array.from([0x50, 0x4b, 3, 4])])
  })
})

describe('Compare', () => {
  it('proposes the source as baseline, evaluates, and shows charts, figures and the verdict with reasons', async () => {
    const requests: EvaluateRequest[] = []
    const release = deferred<void>()
    const { server } = renderWithServer(<ModelsPage />, {
      models: [source, candidate],
      packaging: {
        'models.card': async ({ modelId }) => ({ modelId, card: modelId === candidate.modelId ? aModelCard() : null, lastEvaluation: null }),
        'models.evaluate': async (request) => {
          requests.push(request)
          server.hub.emit('packaging.progressed', { operationId: request.operationId ?? '', operation: 'evaluate', modelId: candidate.modelId, phase: 'latency', fraction: 0.8 })
          await release.promise
          return anEvaluation({ operationId: request.operationId ?? 'x' })
        },
      },
    })
    fireEvent.click(await screen.findByTestId('model-compare-m-cdcdcdcdcdcd'))
    await waitFor(() => expect(screen.getByTestId<HTMLSelectElement>('compare-baseline').value).toBe(source.modelId))
    fireEvent.click(screen.getByTestId('compare-submit'))
    const progress = await screen.findByTestId<HTMLProgressElement>('compare-progress')
    await waitFor(() => expect(progress.value).toBe(0.8))
    await act(async () => release.resolve())

    const result = await screen.findByTestId('compare-result')
    const badge = within(result).getByTestId('release-ready')
    expect(badge.dataset.ready).toBe('false')
    expect(badge.textContent).toContain('Not release-ready')
    expect(badge.textContent).toContain('below the required 99.00%')
    expect(within(result).getByTestId('compare-agreement').textContent).toBe('98.05%')
    expect(within(result).getByTestId('compare-size').textContent).toContain('(0.741×)')
    expect(within(result).getByTestId('compare-accuracy').textContent).toBe('no labels given')
    for (const chart of ['chart-size', 'chart-latency', 'chart-latency-distribution', 'chart-errors']) {
      expect(within(result).getByTestId(chart).querySelector('svg')).not.toBeNull()
    }
    expect(requests).toEqual([
      { baselineId: source.modelId, candidateId: candidate.modelId, operationId: expect.stringMatching(/^ui-/) as string, synthetic: { count: 256, seed: 1 }, runs: 20, minAgreement: 0.99 },
    ])
  })

  it('sends uploaded inputs, labels and thresholds, shows accuracy and a release-ready badge; refuses invalid thresholds', async () => {
    const requests: EvaluateRequest[] = []
    renderWithServer(<ModelsPage />, {
      models: [source, candidate],
      packaging: {
        'models.card': async ({ modelId }) => ({ modelId, card: null, lastEvaluation: null }),
        'models.evaluate': async (request) => {
          requests.push(request)
          return anEvaluation({
            readiness: { isReleaseReady: true, reasons: [] },
            result: anEvaluationResult({ accuracy: { outputName: 'probabilities', labelCount: 256, baseline: 0.91, candidate: 0.905, drop: 0.005 } }),
          })
        },
      },
    })
    fireEvent.click(await screen.findByTestId('model-compare-m-cdcdcdcdcdcd'))
    fireEvent.change(screen.getByTestId('compare-min-agreement'), { target: { value: '150' } })
    expect(screen.getByTestId<HTMLButtonElement>('compare-submit').disabled).toBe(true)
    fireEvent.change(screen.getByTestId('compare-min-agreement'), { target: { value: '' } })
    fireEvent.change(screen.getByTestId('compare-max-accuracy-drop'), { target: { value: '1' } })
    fireEvent.change(screen.getByTestId('compare-runs'), { target: { value: '5' } })
    fireEvent.click(screen.getByTestId('compare-inputs-upload'))
    fireEvent.change(screen.getByTestId('compare-inputs-file'), { target: { files: [new File([Uint8Array.from([1, 2])], 'inputs.npz')] } })
    fireEvent.change(screen.getByTestId('compare-labels-file'), { target: { files: [new File([Uint8Array.from([3])], 'labels.npy')] } })
    fireEvent.click(screen.getByTestId('compare-submit'))
    const result = await screen.findByTestId('compare-result')
    expect(within(result).getByTestId('release-ready').dataset.ready).toBe('true')
    expect(within(result).getByTestId('compare-accuracy').textContent).toContain('91.00% → 90.50% (drop 0.50 points over 256 labels)')
    const [request] = requests
    expect(request).toMatchObject({ baselineId: source.modelId, candidateId: candidate.modelId, inputsFileName: 'inputs.npz', runs: 5, maxAccuracyDrop: 0.01 })
    expect(request?.minAgreement).toBeUndefined()
    expect(decodeBase64(request?.inputsBase64 ?? '')).toEqual(Uint8Array.from([1, 2]))
    expect(decodeBase64(request?.labelsBase64 ?? '')).toEqual(Uint8Array.from([3]))
  })
})
