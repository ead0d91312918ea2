import { z } from 'zod'

/**
 * Device ids double as MQTT usernames, client ids and topic levels, so they exclude every character
 * with meaning in a topic filter ('+', '#', '/') and stay short (anchors-security.md §10.10).
 */
export const DeviceId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a device id is 1-64 letters, digits, dots, dashes or underscores')
export type DeviceId = z.infer<typeof DeviceId>

/** Lowercase hex SHA-256 of a file's bytes: the content address of models and artifacts. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lowercase hex characters')
export type Sha256Hex = z.infer<typeof Sha256Hex>

export const ModelId = z.string().regex(/^m-[0-9a-f]{12}$/, 'a model id looks like m-0123456789ab')
export type ModelId = z.infer<typeof ModelId>

/** Instants on the wire are ISO-8601 strings (anchors-aesthetics.md §4.4). */
export const Instant = z.iso.datetime()
