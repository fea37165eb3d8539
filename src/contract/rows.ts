// The row scope a decision carries: `all`, `none`, or `conditional` with a UCAST
// condition tree in the expanded syntax OPA's Compile API emits (so @ucast/* and
// @open-policy-agent/ucast-prisma consume it as it is), and, when the caller
// asked, that filter rendered as a parameterized SQL WHERE fragment.
import { Type, type Static } from '@sinclair/typebox'

export const FieldOperatorSchema = Type.Union([
  Type.Literal('eq'), Type.Literal('ne'), Type.Literal('in'), Type.Literal('nin'),
  Type.Literal('lt'), Type.Literal('lte'), Type.Literal('gt'), Type.Literal('gte')
])
export type FieldOperator = Static<typeof FieldOperatorSchema>

export const CompoundOperatorSchema = Type.Union([Type.Literal('and'), Type.Literal('or'), Type.Literal('not')])
export type CompoundOperator = Static<typeof CompoundOperatorSchema>

/** A UCAST condition: a field test, or and/or/not over conditions (`not` wraps exactly one). */
export const ConditionSchema = Type.Recursive((Self) => Type.Union([
  Type.Object({
    type: Type.Literal('field'),
    field: Type.String({ description: "the business object's own field name" }),
    operator: FieldOperatorSchema,
    value: Type.Unknown({ description: 'a scalar, or an array of scalars for in/nin' })
  }, { title: 'FieldCondition' }),
  Type.Object({
    type: Type.Literal('compound'),
    operator: CompoundOperatorSchema,
    value: Type.Array(Self)
  }, { title: 'CompoundCondition' })
]), { $id: 'Condition', title: 'Condition', description: 'UCAST condition tree (expanded syntax)' })
export type Condition = Static<typeof ConditionSchema>
export type FieldCondition = Extract<Condition, { type: 'field' }>
export type CompoundCondition = Extract<Condition, { type: 'compound' }>

/** The policy's row scope (policy result `rows`). */
export const RowsSchema = Type.Union([
  Type.Object({ kind: Type.Literal('all') }),
  Type.Object({ kind: Type.Literal('none') }),
  Type.Object({ kind: Type.Literal('conditional'), filter: ConditionSchema })
], { title: 'Rows', description: 'the row scope: all, none, or conditional with a UCAST filter' })
export type Rows = Static<typeof RowsSchema>

export const SQL_DIALECTS = Object.freeze(['postgresql', 'mysql', 'sqlite', 'sqlserver'] as const)
export const SqlDialectSchema = Type.Union(SQL_DIALECTS.map((d) => Type.Literal(d)) as [ReturnType<typeof Type.Literal<SqlDialect>>])
export type SqlDialect = typeof SQL_DIALECTS[number]

export const RenderedSqlSchema = Type.Object({
  dialect: SqlDialectSchema,
  where: Type.String({ description: 'a boolean SQL expression, safe to combine with AND' }),
  params: Type.Array(Type.Unknown(), { description: 'the values of the placeholders in `where`, in order' })
}, { title: 'RenderedSql', description: 'the row filter as a parameterized SQL WHERE fragment (values only in params)' })
export type RenderedSql = Static<typeof RenderedSqlSchema>

const sql = Type.Optional(RenderedSqlSchema)

/** The row scope as answered: the policy's rows, plus SQL when it was asked for. */
export const DecisionRowsSchema = Type.Union([
  Type.Object({ kind: Type.Literal('all'), sql }),
  Type.Object({ kind: Type.Literal('none'), sql }),
  Type.Object({ kind: Type.Literal('conditional'), filter: ConditionSchema, sql })
], { title: 'DecisionRows', description: 'the row scope; `sql` present when the request asked for it' })
export type DecisionRows = Static<typeof DecisionRowsSchema>
