import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { App } from '../../App.tsx'
import { aRelease, aTrustStatus } from '../../testing/builders.ts'
import { renderWithServer } from '../../testing/renderWithServer.tsx'
import { bundlePathOf } from './releasesSlice.ts'
import { ReleasesPage } from './ReleasesPage.tsx'

afterEach(cleanup)

const pending = aRelease({
  releaseId: 'aa'.repeat(32),
  releaseCounter: 1_003_000,
  version: '1.3.0',
  signatures: {
    threshold: 2,
    validCount: 1,
    roleKeyCount: 3,
    isThresholdMet: false,
    entries: [
      { keyid: '11'.repeat(32), status: 'valid' },
      { keyid: '33'.repeat(32), status: 'unknown-key' },
    ],
  },
  card: JSON.stringify({ recipe: 'int8-dynamic' }),
  lineage: {
    sourceSha256: 'cd'.repeat(32),
    sourceName: 'tiny-fp32.onnx',
    recipe: 'int8-dynamic',
    toolVersion: '0.4.0',
    isReleaseReady: false,
    readinessReasons: ['Top-1 agreement is 91.00%.'],
    metrics: [{ name: 'evaluation.top1Agreement', value: 0.91 }],
  },
  overrideReason: 'Field test on 3 devices only',
})
const complete = aRelease()

/** A folder-picker File: the browser sets webkitRelativePath to FOLDER/inner/path. */
function folderFile(relativePath: string, bytes: number[]): File {
  const file = new File([Uint8Array.from(bytes)], relativePath.split('/').pop() ?? relativePath)
  Object.defineProperty(file, 'webkitRelativePath', { value: relativePath })
  return file
}

describe('ReleasesPage', () => {
  it('is reached from the navigation', async () => {
    renderWithServer(<App />, { releases: [complete] })
    fireEvent.click(screen.getByTestId('nav-releases'))
    expect(await screen.findByTestId(`release-row-${complete.releaseId}`)).toBeTruthy()
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Releases')
  })

  it('shows each release with its k-of-n signature badge, newest counter first', async () => {
    renderWithServer(<ReleasesPage />, { releases: [complete, pending] })
    const pendingRow = await screen.findByTestId(`release-row-${pending.releaseId}`)
    const completeRow = screen.getByTestId(`release-row-${complete.releaseId}`)
    expect(within(pendingRow).getByTestId('release-threshold').textContent).toBe('1 of 2')
    expect(within(pendingRow).getByTestId('release-threshold').className).toContain('badge-threshold-pending')
    expect(within(completeRow).getByTestId('release-threshold').textContent).toBe('2 of 2')
    expect(within(completeRow).getByTestId('release-threshold').className).toContain('badge-threshold-met')
    const rows = screen.getAllByTestId(/^release-row-/).map((row) => row.dataset.testid)
    expect(rows).toEqual([`release-row-${pending.releaseId}`, `release-row-${complete.releaseId}`])
    expect(screen.getByTestId('trust-status').textContent).toContain('a release needs 2 of 3 release signatures')
  })

  it('opens a release with its signatures and lineage card', async () => {
    renderWithServer(<ReleasesPage />, { releases: [pending] })
    fireEvent.click(await screen.findByTestId(`release-row-${pending.releaseId}`))
    const detail = screen.getByTestId('release-detail')
    expect(within(detail).getByTestId('release-signatures').textContent).toContain('not a release key of this root')
    const lineage = within(detail).getByTestId('release-lineage')
    expect(lineage.textContent).toContain('tiny-fp32.onnx')
    expect(lineage.textContent).toContain('int8-dynamic')
    expect(within(lineage).getByTestId('release-gate').textContent).toBe('not release-ready')
    expect(within(lineage).getByTestId('release-override').textContent).toContain('Field test on 3 devices only')
    expect(lineage.textContent).toContain('0.9100')
    fireEvent.keyDown(detail, { key: 'Escape' })
    expect(screen.queryByTestId('release-detail')).toBeNull()
  })

  it('imports a bundle by path and lists it from the push', async () => {
    const { server } = renderWithServer(<ReleasesPage />)
    await screen.findByTestId('empty-state')
    fireEvent.change(screen.getByTestId('release-import-path'), { target: { value: '/bundles/2.0.0' } })
    fireEvent.click(screen.getByTestId('release-import-submit'))
    await waitFor(() => expect(screen.getByTestId('release-import-status').textContent).toContain('Imported tiny #1002003 (2.0.0)'))
    expect(server.releaseImports).toEqual([{ path: '/bundles/2.0.0' }])
    expect(screen.getAllByTestId(/^release-row-/)).toHaveLength(1)
    expect(screen.getByTestId('release-detail')).toBeTruthy()
  })

  it('uploads a chosen bundle folder with paths inside the bundle', async () => {
    const { server } = renderWithServer(<ReleasesPage />)
    await screen.findByTestId('empty-state')
    fireEvent.change(screen.getByTestId('release-upload-input'), {
      target: { files: [folderFile('tiny-2.0.0/release.json', [123, 125]), folderFile('tiny-2.0.0/files/model.onnx', [8, 7])] },
    })
    await waitFor(() => expect(screen.getByTestId('release-import-status').textContent).toContain('Imported'))
    const [upload] = server.releaseImports
    expect(upload !== undefined && 'files' in upload ? upload.files.map((file) => [file.path, [...file.bytes]]) : null).toEqual([
      ['release.json', [123, 125]],
      ['files/model.onnx', [8, 7]],
    ])
  })

  it('shows a refused import with its trust code, sentence and action', async () => {
    const { server } = renderWithServer(<ReleasesPage />)
    await screen.findByTestId('empty-state')
    server.failNext('releases.import', new AppError('hash-mismatch', 'Chunk 0 of model.onnx does not match its hash', { trustCode: 'hash-mismatch' }))
    fireEvent.change(screen.getByTestId('release-import-path'), { target: { value: '/bundles/tampered' } })
    fireEvent.click(screen.getByTestId('release-import-submit'))
    const notice = await screen.findByTestId('error-notice')
    expect(notice.dataset.errorCode).toBe('hash-mismatch')
    expect(notice.textContent).toContain('Chunk 0 of model.onnx does not match its hash')
    expect(notice.textContent).toContain('get a fresh copy from the release signers')
    expect(screen.queryAllByTestId(/^release-row-/)).toHaveLength(0)
  })

  it('explains how to add a trust root and disables import without one', async () => {
    renderWithServer(<ReleasesPage />, { trust: aTrustStatus({ isConfigured: false, rootVersion: null, releaseThreshold: null, releaseKeyCount: null, directorKeyid: null }) })
    await waitFor(() => expect(screen.getByTestId('trust-status').textContent).toContain('outpost serve --trust-dir DIR'))
    fireEvent.change(screen.getByTestId('release-import-path'), { target: { value: '/bundles/2.0.0' } })
    expect(screen.getByTestId<HTMLButtonElement>('release-import-submit').disabled).toBe(true)
    expect(screen.getByTestId<HTMLInputElement>('release-upload-input').disabled).toBe(true)
  })
})

describe('bundlePathOf', () => {
  it.each([
    ['tiny-2.0.0/release.json', 'release.json'],
    ['tiny-2.0.0/files/model.onnx', 'files/model.onnx'],
    ['release.json', 'release.json'],
  ])('%s → %s', (relativePath, bundlePath) => {
    expect(bundlePathOf(relativePath)).toBe(bundlePath)
  })
})
