import { describe, expect, it } from 'vitest'
import { errorCodes } from '../../src-shared/errors.ts'
import { describeReportedCode, errorMessageFor } from './errorMessages.ts'

describe('errorMessageFor', () => {
  it.each(errorCodes)('explains %s with a sentence and an action', (code) => {
    const { summary, action } = errorMessageFor(code)
    expect(summary).toMatch(/^[A-Z].*\.$/)
    expect(action).toMatch(/^[A-Z].*\.$/)
  })

  it('gives every code its own summary', () => {
    const summaries = new Set(errorCodes.map((code) => errorMessageFor(code).summary))
    expect(summaries.size).toBe(errorCodes.length)
  })

  it('describes codes agents report only when this window knows them', () => {
    expect(describeReportedCode('artifact-corrupt')?.summary).toBe(errorMessageFor('artifact-corrupt').summary)
    expect(describeReportedCode('code-from-a-newer-agent')).toBeNull()
  })
})
