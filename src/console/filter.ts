// The console's message filter: a small declarative expression language over a message's JSON
// value, parsed into a tree and evaluated by walking it. It has no way to call anything, so a
// filter can never execute code (no eval, no Function, no property lookups outside the message).
//
//   expression := or
//   or         := and ("or" and)*
//   and        := unary ("and" unary)*
//   unary      := "not" unary | "(" expression ")" | comparison
//   comparison := path ("==" | "!=" | ">" | ">=" | "<" | "<=" | "contains") literal | path "exists"
//   path       := name ("." name | "[" integer "]")*   e.g. score, scores.rules, location.lat, rules[0]
//   literal    := number | "text" | 'text' | true | false | null
//
// A path starting with `key`, `partition`, `offset`, `timestamp` or `headers` reads the record;
// `value.x` and a bare `x` read the value's field x.

export type Literal = string | number | boolean | null

export type FilterNode =
  | { type: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { type: 'not'; operand: FilterNode }
  | { type: 'compare'; path: (string | number)[]; op: CompareOp; value: Literal }
  | { type: 'exists'; path: (string | number)[] }

export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'contains'

/** What a filter sees of one record. */
export interface FilterRecord {
  key: string | null
  value: unknown
  partition: number
  offset: string
  timestamp: number
  headers: Record<string, string>
}

export class FilterError extends Error {
  readonly position: number
  constructor(message: string, position: number) {
    super(`${message} at character ${position + 1}`)
    this.position = position
  }
}

type Token =
  | { kind: 'name'; text: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'op'; text: string; at: number }
  | { kind: 'end'; at: number }

const maxLength = 1_000
const maxDepth = 32

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    const at = i
    const two = text.slice(i, i + 2)
    if (['==', '!=', '>=', '<='].includes(two)) {
      tokens.push({ kind: 'op', text: two, at })
      i += 2
    } else if ('<>()[].'.includes(c)) {
      tokens.push({ kind: 'op', text: c, at })
      i++
    } else if (c === '"' || c === "'") {
      let value = ''
      i++
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) i++
        value += text[i]
        i++
      }
      if (i >= text.length) throw new FilterError('unterminated string', at)
      i++
      tokens.push({ kind: 'string', value, at })
    } else if (/[0-9-]/.test(c)) {
      const match = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))
      if (!match) throw new FilterError(`unexpected "${c}"`, at)
      tokens.push({ kind: 'number', value: Number(match[0]), at })
      i += match[0].length
    } else if (/[A-Za-z_$]/.test(c)) {
      const match = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(text.slice(i))!
      tokens.push({ kind: 'name', text: match[0], at })
      i += match[0].length
    } else {
      throw new FilterError(`unexpected "${c}"`, at)
    }
  }
  tokens.push({ kind: 'end', at: text.length })
  return tokens
}

const comparisons = new Set(['==', '!=', '>', '>=', '<', '<='])

/** Parses a filter expression; throws FilterError naming what is wrong and where. */
export function parseFilter(text: string): FilterNode {
  if (text.length > maxLength) throw new FilterError(`a filter is at most ${maxLength} characters`, maxLength)
  if (text.trim() === '') throw new FilterError('empty filter', 0)
  const tokens = tokenize(text)
  let index = 0
  const peek = () => tokens[index]!
  const next = () => tokens[index++]!
  const isWord = (token: Token, word: string) => token.kind === 'name' && token.text.toLowerCase() === word
  const isOp = (token: Token, op: string) => token.kind === 'op' && token.text === op

  const expression = (depth: number): FilterNode => {
    if (depth > maxDepth) throw new FilterError(`nested deeper than ${maxDepth}`, peek().at)
    let left = conjunction(depth)
    while (isWord(peek(), 'or')) {
      next()
      left = { type: 'or', left, right: conjunction(depth) }
    }
    return left
  }
  const conjunction = (depth: number): FilterNode => {
    let left = unary(depth)
    while (isWord(peek(), 'and')) {
      next()
      left = { type: 'and', left, right: unary(depth) }
    }
    return left
  }
  const unary = (depth: number): FilterNode => {
    const token = peek()
    if (isWord(token, 'not')) {
      next()
      return { type: 'not', operand: unary(depth + 1) }
    }
    if (isOp(token, '(')) {
      next()
      const inner = expression(depth + 1)
      const close = next()
      if (!isOp(close, ')')) throw new FilterError('expected ")"', close.at)
      return inner
    }
    return comparison()
  }
  const path = (): (string | number)[] => {
    const first = next()
    if (first.kind !== 'name' || ['and', 'or', 'not'].includes(first.text.toLowerCase()))
      throw new FilterError('expected a field path', first.at)
    const parts: (string | number)[] = [first.text]
    for (;;) {
      if (isOp(peek(), '.')) {
        next()
        const name = next()
        if (name.kind === 'name') parts.push(name.text)
        else if (name.kind === 'number' && Number.isInteger(name.value)) parts.push(String(name.value))
        else throw new FilterError('expected a field name after "."', name.at)
      } else if (isOp(peek(), '[')) {
        next()
        const item = next()
        if (item.kind === 'number' && Number.isInteger(item.value) && item.value >= 0) parts.push(item.value)
        else if (item.kind === 'string') parts.push(item.value)
        else throw new FilterError('expected an index or a quoted name in "[ ]"', item.at)
        const close = next()
        if (!isOp(close, ']')) throw new FilterError('expected "]"', close.at)
      } else return parts
    }
  }
  const literal = (): Literal => {
    const token = next()
    if (token.kind === 'number' || token.kind === 'string') return token.value
    if (token.kind === 'name') {
      const word = token.text.toLowerCase()
      if (word === 'true') return true
      if (word === 'false') return false
      if (word === 'null') return null
    }
    throw new FilterError('expected a number, a quoted string, true, false or null', token.at)
  }
  const comparison = (): FilterNode => {
    const fields = path()
    const token = next()
    if (isWord(token, 'exists')) return { type: 'exists', path: fields }
    if (isWord(token, 'contains')) return { type: 'compare', path: fields, op: 'contains', value: literal() }
    if (token.kind === 'op' && comparisons.has(token.text))
      return { type: 'compare', path: fields, op: token.text as CompareOp, value: literal() }
    throw new FilterError('expected ==, !=, >, >=, <, <=, contains or exists after a field path', token.at)
  }

  const tree = expression(0)
  const rest = peek()
  if (rest.kind !== 'end') throw new FilterError('expected "and", "or" or the end of the filter', rest.at)
  return tree
}

const recordFields = new Set(['key', 'partition', 'offset', 'timestamp', 'headers'])

function resolve(record: FilterRecord, path: (string | number)[]): unknown {
  const [head, ...rest] = path
  let current: unknown
  let steps = rest
  if (head === 'value') current = record.value
  else if (typeof head === 'string' && recordFields.has(head)) current = record[head as keyof FilterRecord]
  else {
    current = record.value
    steps = path
  }
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined
    if (Array.isArray(current)) {
      if (typeof step !== 'number' && !/^\d+$/.test(step)) return undefined
      current = current[Number(step)]
    } else {
      // own properties only: never the prototype chain
      if (!Object.hasOwn(current, step)) return undefined
      current = (current as Record<string, unknown>)[String(step)]
    }
  }
  return current
}

function compare(actual: unknown, op: CompareOp, expected: Literal): boolean {
  if (op === 'contains') {
    if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected)
    if (Array.isArray(actual)) return actual.some((item) => item === expected)
    return false
  }
  if (op === '==') return actual === expected
  if (op === '!=') return actual !== expected
  const bothNumbers = typeof actual === 'number' && typeof expected === 'number'
  const bothStrings = typeof actual === 'string' && typeof expected === 'string'
  if (!bothNumbers && !bothStrings) return false
  const a = actual as number | string
  const b = expected as number | string
  if (op === '>') return a > b
  if (op === '>=') return a >= b
  if (op === '<') return a < b
  return a <= b
}

/** Whether `record` matches the parsed filter. */
export function matches(node: FilterNode, record: FilterRecord): boolean {
  switch (node.type) {
    case 'and':
      return matches(node.left, record) && matches(node.right, record)
    case 'or':
      return matches(node.left, record) || matches(node.right, record)
    case 'not':
      return !matches(node.operand, record)
    case 'exists':
      return resolve(record, node.path) !== undefined
    case 'compare':
      return compare(resolve(record, node.path), node.op, node.value)
  }
}
