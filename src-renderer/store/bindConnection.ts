import type { Connection } from '../api/connection.ts'
import type { AppStore } from './createAppStore.ts'

/** Mirrors the connection into the store and reloads everything on each (re)connect. Returns an unbind function. */
export function bindConnection(store: AppStore, connection: Connection): () => void {
  const apply = () => {
    const state = connection.getState()
    store.getState().setConnection(state)
    if (state.status === 'connected') void store.getState().reloadAll()
  }
  const stop = connection.onStateChange(apply)
  apply()
  return stop
}
