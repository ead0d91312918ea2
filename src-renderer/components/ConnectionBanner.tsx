import { useAppStore } from '../store/StoreContext.tsx'

/** Explains a lost or missing connection; retries happen by themselves, so there is nothing to click. */
export function ConnectionBanner() {
  const connection = useAppStore((state) => state.connection)
  if (connection.status !== 'disconnected') return null
  return (
    <div className="banner banner-warning" role="alert" data-testid="connection-banner">
      <p>{connection.reason}</p>
      {connection.retryInMs !== null && (
        <p className="muted">Retrying in {Math.max(1, Math.round(connection.retryInMs / 1000))} s.</p>
      )}
    </div>
  )
}
