import { createContext, useContext, type ReactNode } from 'react'
import { useStore } from 'zustand'
import { BugError } from '../../src-shared/errors.ts'
import type { AppState } from './appState.ts'
import type { AppStore } from './createAppStore.ts'

const StoreContext = createContext<AppStore | null>(null)

/** The store travels by context rather than a module singleton, so each test renders with its own. */
export function AppStoreProvider({ store, children }: { store: AppStore; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>
}

export function useAppStore<Selected>(selector: (state: AppState) => Selected): Selected {
  const store = useContext(StoreContext)
  if (store === null) throw new BugError('useAppStore used outside AppStoreProvider')
  return useStore(store, selector)
}
