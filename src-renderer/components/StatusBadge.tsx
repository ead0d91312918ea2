export function StatusBadge({ isOnline, testId }: { isOnline: boolean; testId?: string }) {
  return (
    <span className={`badge ${isOnline ? 'badge-online' : 'badge-offline'}`} data-testid={testId}>
      {isOnline ? 'online' : 'offline'}
    </span>
  )
}
