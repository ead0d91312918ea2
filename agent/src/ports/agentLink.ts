/** The agent's connection to the control center's broker. Implemented by adapters/mqttLink.ts. */

export interface PublishOptions {
  qos: 0 | 1
  retain?: boolean
}

export interface AgentLink {
  /** Starts connecting. Broker outages never throw: the link keeps reconnecting with backoff until closed. */
  start(): void
  isConnected(): boolean
  /** Called after every successful (re)connect, before any queued work; subscriptions must be renewed here. */
  onConnect(listener: () => void): void
  onDisconnect(listener: () => void): void
  /** Every message on a subscribed topic, payload as raw bytes. */
  onMessage(listener: (topic: string, payload: Uint8Array) => void): void
  subscribe(filter: string): Promise<void>
  /** Rejects with AppError 'unavailable' while disconnected; nothing is queued behind the caller's back. */
  publish(topic: string, payload: Uint8Array, options: PublishOptions): Promise<void>
  /** Publishes `farewell` (when connected, bounded wait) and disconnects; no reconnect afterwards. */
  close(farewell?: { topic: string; payload: Uint8Array; retain: boolean }): Promise<void>
}
