import { render } from '@testing-library/react'
import type { ReactElement } from 'react'
import { createStaticConnection } from '../api/connection.ts'
import { createOutpostClient } from '../api/outpostClient.ts'
import { bindConnection } from '../store/bindConnection.ts'
import { createAppStore } from '../store/createAppStore.ts'
import { AppStoreProvider } from '../store/StoreContext.tsx'
import { createTestServer, type TestServerOptions } from './createTestServer.ts'

/** A store wired to an in-memory test server, connected and loading, as main.tsx wires the real one. */
export function connectedStore(options: TestServerOptions = {}) {
  const server = createTestServer(options)
  const client = createOutpostClient(server.transport, { validate: true })
  const store = createAppStore(client, { storage: null })
  bindConnection(store, createStaticConnection(server.transport))
  return { server, client, store }
}

export function renderWithServer(ui: ReactElement, options: TestServerOptions = {}) {
  const context = connectedStore(options)
  const view = render(<AppStoreProvider store={context.store}>{ui}</AppStoreProvider>)
  return { ...context, view }
}
