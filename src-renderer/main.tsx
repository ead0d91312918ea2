import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { z } from 'zod'
import { BugError } from '../src-shared/errors.ts'
import { takeAccessToken } from './api/accessToken.ts'
import { createStaticConnection, type Connection } from './api/connection.ts'
import { createOutpostClient } from './api/outpostClient.ts'
import { createWebSocketConnection, webSocketUrlFor } from './api/webSocketTransport.ts'
import { App } from './App.tsx'
import { bindConnection } from './store/bindConnection.ts'
import { createAppStore } from './store/createAppStore.ts'
import { AppStoreProvider } from './store/StoreContext.tsx'
import './styles.css'

// Our CSP has no 'unsafe-eval': tell zod not to probe `new Function`, which the browser would report as a violation.
z.config({ jitless: true })

/** Electron's preload provides the transport; in a browser (headless mode) we open the WebSocket ourselves. */
function openConnection(): Connection {
  if (window.outpostTransport) return createStaticConnection(window.outpostTransport)
  const token = takeAccessToken({ location: window.location, history: window.history, storage: storageOrNull('session') })
  return createWebSocketConnection({ url: webSocketUrlFor(window.location), token })
}

function storageOrNull(kind: 'session' | 'local'): Storage | null {
  try {
    return kind === 'session' ? window.sessionStorage : window.localStorage
  } catch {
    // Reading the property throws when the browser blocks storage for this page.
    return null
  }
}

const connection = openConnection()
// Outputs and events are checked against the contract in development only (anchors-aesthetics.md §4.4).
const client = createOutpostClient(connection.transport, { validate: import.meta.env.DEV })
const store = createAppStore(client, { storage: storageOrNull('local'), initialConnection: connection.getState() })
bindConnection(store, connection)

const rootElement = document.getElementById('root')
if (rootElement === null) throw new BugError('index.html has no #root element')
createRoot(rootElement).render(
  <StrictMode>
    <AppStoreProvider store={store}>
      <App />
    </AppStoreProvider>
  </StrictMode>,
)
