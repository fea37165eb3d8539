import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'packages/*/dist/**', '.tools/**', '.build/**', '.tap/**', 'coverage/**'] })
]
