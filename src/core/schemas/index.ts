// Declared event schemas, compiled and added to the kind registry, so every stage (enrich,
// score, drift, train, alert, the offline tools) handles their events as any kind's.
import { registerSchema } from '../kinds.ts'
import { type CompiledSchema, compileSchema } from './compile.ts'
import type { EventSchemaDeclaration } from './declaration.ts'

/** Compiles and registers every declaration (idempotent); returns the compiled schemas. */
export function registerSchemas(declarations: readonly EventSchemaDeclaration[]): CompiledSchema[] {
  return declarations.map((declaration) => {
    const schema = compileSchema(declaration)
    registerSchema(schema)
    return schema
  })
}

export type { CompiledSchema, DeclaredEvent } from './compile.ts'
export type { EventSchemaDeclaration } from './declaration.ts'
