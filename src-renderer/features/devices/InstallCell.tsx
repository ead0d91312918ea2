import type { DeviceSummary } from '../../../src-shared/domain/device.ts'
import { formatPercent } from '../../lib/format.ts'

/** The install state; a progress bar while the artifact downloads, the error code when it failed. */
export function InstallCell({ install }: { install: DeviceSummary['install'] }) {
  if (install.state === 'downloading') {
    return (
      <span className="install install-downloading">
        downloading {formatPercent(install.progress)}
        <progress max={1} value={install.progress} aria-label="Download progress" />
      </span>
    )
  }
  return (
    <span className={`install install-${install.state}`}>
      {install.state}
      {install.errorCode && <code className="error-code"> {install.errorCode}</code>}
    </span>
  )
}
