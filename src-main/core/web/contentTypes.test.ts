import { describe, expect, it } from 'vitest'
import { contentTypeFor } from './contentTypes.ts'

describe('contentTypeFor', () => {
  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['assets/index-AB12.JS', 'text/javascript; charset=utf-8'],
    ['/srv/out/renderer/assets/app.css', 'text/css; charset=utf-8'],
    ['C:\\out\\renderer\\ort.wasm', 'application/wasm'],
  ])('maps %s to %s', (file, type) => {
    expect(contentTypeFor(file)).toBe(type)
  })

  it('serves unknown, missing and dot-file extensions as opaque bytes', () => {
    expect(contentTypeFor('model.onnx')).toBe('application/octet-stream')
    expect(contentTypeFor('README')).toBe('application/octet-stream')
    expect(contentTypeFor('dir.d/.htaccess')).toBe('application/octet-stream')
    expect(contentTypeFor('archive.html/')).toBe('application/octet-stream')
  })
})
