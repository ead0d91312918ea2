import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { aDevice, aModel } from '../../testing/builders.ts'
import { renderWithServer } from '../../testing/renderWithServer.tsx'
import { ModelsPage } from './ModelsPage.tsx'

afterEach(cleanup)

const onnxLikeFile = (name: string) => new File([Uint8Array.from([0x08, 0x07, 0x12, 0x04])], name)

describe('ModelsPage', () => {
  it('lists imported models with their details', async () => {
    renderWithServer(<ModelsPage />, { models: [aModel()] })
    const row = await screen.findByTestId('model-row-m-0123456789ab')
    expect(within(row).getByTestId('model-name').textContent).toBe('tiny-classifier')
    expect(row.textContent).toContain('abababababab')
    expect(row.textContent).toContain('features float32 [N, 16]')
    expect(row.textContent).toContain('probabilities float32 [N, 4]')
    expect(row.textContent).toContain('2.0 KiB')
  })

  it('explains how to import when there are no models', async () => {
    renderWithServer(<ModelsPage />)
    const empty = await screen.findByTestId('empty-state')
    expect(empty.textContent).toContain('outpost models import')
  })

  it('imports a chosen file and lists it', async () => {
    const { server } = renderWithServer(<ModelsPage />)
    await screen.findByTestId('empty-state')
    fireEvent.change(screen.getByRole('textbox', { name: /Version/ }), { target: { value: '2.0' } })
    fireEvent.change(screen.getByTestId('model-file-input'), { target: { files: [onnxLikeFile('detector.onnx')] } })
    await waitFor(() => expect(screen.getByTestId('upload-status').textContent).toContain('Imported detector@2.0'))
    expect(server.uploads[0]?.bytes).toEqual(Uint8Array.from([0x08, 0x07, 0x12, 0x04]))
    expect(screen.getAllByTestId('model-name').map((cell) => cell.textContent)).toEqual(['detector'])
  })

  it('imports a file dropped on the page', async () => {
    const { server } = renderWithServer(<ModelsPage />)
    await screen.findByTestId('empty-state')
    const file = onnxLikeFile('dropped.onnx')
    fireEvent.drop(screen.getByTestId('models-page'), { dataTransfer: { types: ['Files'], files: [file] } })
    await waitFor(() => expect(server.uploads.map((upload) => upload.fileName)).toEqual(['dropped.onnx']))
  })

  it('shows a rejected import with its code, sentence and action', async () => {
    renderWithServer(<ModelsPage />)
    await screen.findByTestId('empty-state')
    fireEvent.change(screen.getByTestId('model-file-input'), {
      target: { files: [new File([Uint8Array.from([1, 2, 3])], 'notes.onnx')] },
    })
    const notice = await screen.findByTestId('error-notice')
    expect(notice.dataset.errorCode).toBe('model-invalid')
    expect(notice.textContent).toContain('notes.onnx is not an ONNX model')
    expect(notice.textContent).toContain('Export the model to ONNX again')
  })

  it('deploys the chosen model to the checked devices, online devices listed first', async () => {
    renderWithServer(<ModelsPage />, {
      models: [aModel(), aModel({ modelId: 'm-bbbbbbbbbbbb', name: 'other', importedAt: '2024-06-01T00:00:00.000Z' })],
      devices: [aDevice({ deviceId: 'a-off', isOnline: false }), aDevice({ deviceId: 'b-on', isOnline: true })],
    })
    const firstCheckbox = await screen.findByTestId('deploy-device-b-on')
    const checkboxes = screen.getAllByRole('checkbox').map((box) => box.dataset.testid)
    expect(checkboxes).toEqual(['deploy-device-b-on', 'deploy-device-a-off'])
    const select = screen.getByTestId<HTMLSelectElement>('deploy-model-select')
    expect(select.value).toBe('m-0123456789ab')
    expect(screen.getByTestId<HTMLButtonElement>('deploy-submit').disabled).toBe(true)

    fireEvent.change(select, { target: { value: 'm-bbbbbbbbbbbb' } })
    fireEvent.click(firstCheckbox)
    fireEvent.click(screen.getByTestId('deploy-submit'))
    await waitFor(() => expect(screen.getByTestId('deploy-result').textContent).toContain('Deployment sent to 1 device'))
    expect(screen.getByTestId('deploy-result').textContent).toContain('b-on')
  })

  it('shows a failed deploy with its error code', async () => {
    const { server } = renderWithServer(<ModelsPage />, { models: [aModel()], devices: [aDevice({ deviceId: 'd-1' })] })
    fireEvent.click(await screen.findByTestId('deploy-device-d-1'))
    server.models.clear()
    fireEvent.click(screen.getByTestId('deploy-submit'))
    const notice = await within(screen.getByTestId('deploy-result')).findByTestId('error-notice')
    expect(notice.dataset.errorCode).toBe('not-found')
  })
})
