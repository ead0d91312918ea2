import { createHash } from 'node:crypto'
import type { ContentHasher } from '../../ports/ContentHasher.ts'

export const nodeContentHasher: ContentHasher = {
  sha256Hex: (bytes) => createHash('sha256').update(bytes).digest('hex'),
}
