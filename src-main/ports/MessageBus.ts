/** The MQTT connection of the control center, reduced to what the services use. */
export interface MessageBus {
  /**
   * Publishes raw bytes. Resolves once the broker has the message (PUBACK for QoS 1). While the connection is down
   * the client queues it. Rejects with AppError 'unavailable' after close.
   */
  publish(topic: string, payload: Uint8Array, options: { qos: 0 | 1 }): Promise<void>
  /** Subscribes (and re-subscribes after reconnects) to a topic filter. */
  subscribe(filter: string): Promise<void>
  /** Every message on subscribed filters, in arrival order. Returns a function that stops listening. */
  onMessage(listener: (topic: string, payload: Uint8Array) => void): () => void
  /** Disconnects; idempotent. */
  close(): Promise<void>
}
