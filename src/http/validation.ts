// Route schemas are TypeBox schemas, checked with TypeBox's compiled validator.
// Unlike fastify's default Ajv set-up it never coerces types and never strips
// unknown properties: a decision request means exactly what it says, or it is a 400.
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyInstance } from 'fastify'
import { InvalidRequestError } from '../errors.js'

export function registerSchemaValidation (fastify: FastifyInstance): void {
  fastify.setValidatorCompiler(({ schema, httpPart }) => {
    const check = TypeCompiler.Compile(schema as TSchema)
    return (data: unknown) => {
      if (check.Check(data)) return { value: data }
      const first = check.Errors(data).First()
      const where = `${httpPart ?? 'body'}${first?.path ?? ''}`
      return { error: new InvalidRequestError(`${where}: ${first?.message ?? 'does not match the schema'}`) }
    }
  })
}
