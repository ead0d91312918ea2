import { errorMessageFor } from '../lib/errorMessages.ts'
import type { UiError } from '../store/loadState.ts'

/** An error as the user sees it: a sentence for its code, the specifics, and what to do next. */
export function ErrorNotice({ error, onRetry }: { error: UiError; onRetry?: () => void }) {
  const { summary, action } = errorMessageFor(error.code)
  return (
    <div className="error-notice" role="alert" data-testid="error-notice" data-error-code={error.code}>
      <p className="error-summary">
        <strong>{summary}</strong> <code className="error-code">{error.code}</code>
      </p>
      {error.message && <p className="error-detail">{error.message}</p>}
      <p className="error-action">{action}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  )
}
