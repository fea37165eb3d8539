// The contract shared by server and clients: TypeBox schemas and their static
// types. These files import nothing but @sinclair/typebox and each other, so the
// client package compiles them in as they are.
export * from './rows.js'
export * from './policy.js'
export * from './wire.js'
