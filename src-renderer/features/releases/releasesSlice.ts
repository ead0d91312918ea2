import type { ReleaseSummary, TrustStatus } from '../../../src-shared/contract/releasesContract.ts'
import { MAX_UPLOAD_BYTES } from '../../../src-shared/contract/modelsContract.ts'
import type { OutpostClient } from '../../api/outpostClient.ts'
import { bytesToBase64 } from '../../lib/base64.ts'
import { formatBytes } from '../../lib/format.ts'
import type { SliceCreator } from '../../store/appState.ts'
import { asUiError, createPushLedger, type LoadState, type UiError } from '../../store/loadState.ts'

/** A file of a bundle folder chosen in the browser; `relativePath` is the path inside the chosen folder. */
export interface BundleFile {
  relativePath: string
  size: number
  arrayBuffer: () => Promise<ArrayBuffer>
}

export type ReleaseImportState =
  | { status: 'idle' }
  | { status: 'running'; source: string }
  | { status: 'done'; release: ReleaseSummary }
  | { status: 'failed'; source: string; error: UiError }

export interface ReleasesSlice {
  releasesById: Record<string, ReleaseSummary>
  releasesLoad: LoadState
  trustStatus: TrustStatus | null
  selectedReleaseId: string | null
  releaseImport: ReleaseImportState
  loadReleases: () => Promise<void>
  applyReleaseChanged: (release: ReleaseSummary) => void
  selectRelease: (releaseId: string | null) => void
  /** 'releases.import': a bundle folder on the control center's machine. */
  importReleaseFromPath: (path: string) => Promise<void>
  /** 'releases.upload': the files of a bundle folder chosen in the browser. */
  uploadReleaseBundle: (files: readonly BundleFile[]) => Promise<void>
}

/**
 * The browser reports files of a chosen folder as FOLDER/release.json, FOLDER/files/model.onnx...; the bundle's
 * own layout starts below FOLDER.
 */
export function bundlePathOf(relativePath: string): string {
  const parts = relativePath.split('/').filter((part) => part !== '')
  return parts.length > 1 ? parts.slice(1).join('/') : (parts[0] ?? '')
}

export const createReleasesSlice =
  (client: OutpostClient): SliceCreator<ReleasesSlice> =>
  (set, get) => {
    const pushedDuringLoad = createPushLedger<ReleaseSummary>()
    const finish = (source: string, call: () => Promise<ReleaseSummary>) => async () => {
      set({ releaseImport: { status: 'running', source } })
      try {
        const release = await call()
        get().applyReleaseChanged(release)
        set({ releaseImport: { status: 'done', release }, selectedReleaseId: release.releaseId })
      } catch (error) {
        set({ releaseImport: { status: 'failed', source, error: asUiError(error) } })
      }
    }
    return {
      releasesById: {},
      releasesLoad: 'idle',
      trustStatus: null,
      selectedReleaseId: null,
      releaseImport: { status: 'idle' },
      async loadReleases() {
        set({ releasesLoad: 'loading' })
        const pushed = pushedDuringLoad.open()
        try {
          const [releases, trustStatus] = await Promise.all([client.call('releases.list', {}), client.call('releases.trustStatus', {})])
          const listed = Object.fromEntries(releases.map((release) => [release.releaseId, release]))
          set({ releasesById: { ...listed, ...Object.fromEntries(pushed) }, trustStatus, releasesLoad: 'ready' })
        } catch (error) {
          set({ releasesLoad: { error: asUiError(error) } })
        } finally {
          pushedDuringLoad.close(pushed)
        }
      },
      applyReleaseChanged(release) {
        pushedDuringLoad.record(release.releaseId, release)
        set((state) => ({ releasesById: { ...state.releasesById, [release.releaseId]: release } }))
      },
      selectRelease: (selectedReleaseId) => set({ selectedReleaseId }),
      importReleaseFromPath(path) {
        return finish(path, () => client.call('releases.import', { path }))()
      },
      async uploadReleaseBundle(files) {
        const source = files[0]?.relativePath.split('/')[0] ?? 'bundle'
        const totalBytes = files.reduce((sum, file) => sum + file.size, 0)
        if (totalBytes > MAX_UPLOAD_BYTES) {
          set({
            releaseImport: {
              status: 'failed',
              source,
              error: { code: 'message-too-large', message: `${source} is ${formatBytes(totalBytes)}; uploads are limited to ${formatBytes(MAX_UPLOAD_BYTES)}` },
            },
          })
          return
        }
        await finish(source, async () =>
          client.call('releases.upload', {
            files: await Promise.all(
              files.map(async (file) => ({ path: bundlePathOf(file.relativePath), contentBase64: bytesToBase64(new Uint8Array(await file.arrayBuffer())) })),
            ),
          }),
        )()
      },
    }
  }
