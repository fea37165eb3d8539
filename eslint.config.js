import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', '.tools/**', '.build/**', '.tap/**', 'coverage/**'] })
]
