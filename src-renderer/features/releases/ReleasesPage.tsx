import { useEffect } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { ReleaseSummary, TrustStatus } from '../../../src-shared/contract/releasesContract.ts'
import { EmptyState } from '../../components/EmptyState.tsx'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { useNow } from '../../lib/useNow.ts'
import type { AppState } from '../../store/appState.ts'
import { loadErrorOf } from '../../store/loadState.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { ImportReleasePanel } from './ImportReleasePanel.tsx'
import { ReleaseDetail } from './ReleaseDetail.tsx'
import { ReleaseTable } from './ReleaseTable.tsx'

/** By model, newest release first. */
export const selectReleases = (state: AppState): ReleaseSummary[] =>
  Object.values(state.releasesById).sort((a, b) => a.modelId.localeCompare(b.modelId) || b.releaseCounter - a.releaseCounter)

function TrustNotice({ trust }: { trust: TrustStatus | null }) {
  if (trust === null) return null
  if (!trust.isConfigured) {
    return (
      <div className="banner banner-warning" role="status" data-testid="trust-status">
        <p>
          No trust root: releases cannot be imported and no directive can be signed. Restart the control center with{' '}
          <code>outpost serve --trust-dir DIR</code>, where DIR holds the <code>root.json</code> and director key from{' '}
          <code>outpost keys init</code>.
        </p>
      </div>
    )
  }
  return (
    <p className="muted" role="status" data-testid="trust-status">
      Trust root version {trust.rootVersion} (expires {trust.rootExpiresAt?.slice(0, 10)}): a release needs {trust.releaseThreshold} of{' '}
      {trust.releaseKeyCount} release signatures. Directives are signed by director key <code>{trust.directorKeyid?.slice(0, 16)}</code>.
    </p>
  )
}

export function ReleasesPage() {
  const releases = useAppStore(useShallow(selectReleases))
  const load = useAppStore((state) => state.releasesLoad)
  const loadReleases = useAppStore((state) => state.loadReleases)
  const trust = useAppStore((state) => state.trustStatus)
  const isConnected = useAppStore((state) => state.connection.status === 'connected')
  const selectedId = useAppStore((state) => state.selectedReleaseId)
  const selectRelease = useAppStore((state) => state.selectRelease)
  const nowMs = useNow(30_000)
  const loadError = loadErrorOf(load)
  const selected = releases.find((release) => release.releaseId === selectedId) ?? null

  useEffect(() => {
    // Releases are loaded with their page (and again after a reconnect); pushes keep them current meanwhile.
    if (isConnected) void loadReleases()
  }, [isConnected, loadReleases])

  return (
    <div className="fleet-page" data-testid="releases-page">
      <div className="fleet-main">
        <TrustNotice trust={trust} />
        <ImportReleasePanel isTrustConfigured={trust?.isConfigured ?? false} />
        {loadError && <ErrorNotice error={loadError} onRetry={() => void loadReleases()} />}
        {releases.length === 0
          ? load === 'ready' && (
              <EmptyState
                title="No releases yet"
                commands={[
                  'outpost keys init --dir trust',
                  'outpost release create --model model.onnx --name tiny --version 1.0.0 -o tiny-1.0.0',
                  'outpost release sign tiny-1.0.0 --key trust/keys/release-1.key',
                  'outpost release sign tiny-1.0.0 --key trust/keys/release-2.key',
                  'outpost release verify tiny-1.0.0 --root trust/root.json',
                ]}
              >
                <p>
                  Releases are made and signed offline, then imported here. With <code>OUTPOST_KEY_PASSPHRASE</code> set, a pipeline runs:
                </p>
              </EmptyState>
            )
          : (
              <section className="panel" aria-labelledby="releases-heading">
                <h2 id="releases-heading">Releases</h2>
                <ReleaseTable releases={releases} selectedReleaseId={selectedId} nowMs={nowMs} onSelect={selectRelease} />
              </section>
            )}
      </div>
      {selected && <ReleaseDetail release={selected} onClose={() => selectRelease(null)} />}
    </div>
  )
}
