// Form fields built from a command's args schema (the JSON Schema GET /api/commands/catalog gives):
// one input per property, checked in the page the way the server will check it, read back as the
// `args` object. What a plain input cannot hold (arrays, objects) is edited as JSON.
import { el } from './dom.js'

/** The part of JSON Schema the catalog's TypeBox schemas use. */
export interface JsonSchema {
  type?: string
  description?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  enum?: unknown[]
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minItems?: number
  maxItems?: number
}

/** A field's value: absent (left empty), or a value, or why it cannot be sent. */
export type FieldValue = { present: false } | { present: true; value: unknown } | { error: string }

export interface ArgField {
  name: string
  required: boolean
  /** The label, input and hint, ready to insert. */
  node: HTMLElement
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement
  read(): FieldValue
}

/** Text longer than this gets a textarea. */
const LONG_TEXT = 200

export function argFields(schema: JsonSchema, idPrefix: string): ArgField[] {
  const required = new Set(schema.required ?? [])
  return Object.entries(schema.properties ?? {}).map(([name, property]) => field(name, property, required.has(name), `${idPrefix}-${name}`))
}

/** Reads every field into `args`; the first field that cannot be sent is returned instead. */
export function readArgs(fields: readonly ArgField[]): { args: Record<string, unknown> } | { field: ArgField; error: string } {
  const args: Record<string, unknown> = {}
  for (const f of fields) {
    const result = f.read()
    f.input.setCustomValidity('error' in result ? result.error : '')
    f.input.setAttribute('aria-invalid', String('error' in result))
    if ('error' in result) return { field: f, error: result.error }
    if (result.present) args[f.name] = result.value
  }
  return { args }
}

function field(name: string, schema: JsonSchema, required: boolean, id: string): ArgField {
  const kind = fieldKind(schema)
  const input = kind === 'json' || (kind === 'text' && (schema.maxLength ?? Infinity) > LONG_TEXT)
    ? el('textarea', { id, rows: kind === 'json' ? '4' : '2', spellcheck: kind === 'json' ? 'false' : 'true' })
    : kind === 'choice' ? choiceInput(schema, required, id) : el('input', { id, type: inputType(kind) })
  input.dataset.arg = name
  if (required) input.setAttribute('aria-required', 'true')
  constrain(input, schema, kind)
  const hint = [schema.description, kind === 'json' ? `JSON ${schema.type ?? 'value'}` : undefined, required ? undefined : 'optional'].filter(Boolean).join(' · ')
  const node = el('div', { class: 'arg-field', 'data-field': name },
    el('label', { for: id }, name, required ? el('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : ''),
    input,
    hint ? el('span', { class: 'muted small' }, hint) : '')
  return { name, required, node, input, read: () => readValue(input, schema, kind, name, required) }
}

type Kind = 'text' | 'datetime' | 'integer' | 'number' | 'choice' | 'json'

function fieldKind(schema: JsonSchema): Kind {
  if (schema.enum || schema.type === 'boolean') return 'choice'
  switch (schema.type) {
    case 'string': return schema.format === 'date-time' ? 'datetime' : 'text'
    case 'integer': return 'integer'
    case 'number': return 'number'
    default: return 'json'
  }
}

function inputType(kind: Kind): string {
  return kind === 'datetime' ? 'datetime-local' : kind === 'integer' || kind === 'number' ? 'number' : 'text'
}

/** Booleans are a choice too: an optional one must be able to stay unset. */
function choiceInput(schema: JsonSchema, required: boolean, id: string): HTMLSelectElement {
  const values = schema.enum ?? [true, false]
  const select = el('select', { id }, ...(required ? [] : [el('option', { value: '' }, '(not set)')]),
    ...values.map((v, i) => el('option', { value: String(i) }, String(v))))
  return select
}

/** The native constraints, so the browser marks a field as the user types. */
function constrain(input: HTMLElement, schema: JsonSchema, kind: Kind): void {
  if (schema.maxLength !== undefined) input.setAttribute('maxlength', String(schema.maxLength))
  if (kind === 'integer' || kind === 'number') {
    const min = schema.minimum ?? schema.exclusiveMinimum
    const max = schema.maximum ?? schema.exclusiveMaximum
    if (min !== undefined) input.setAttribute('min', String(min))
    if (max !== undefined) input.setAttribute('max', String(max))
    input.setAttribute('step', kind === 'integer' ? '1' : 'any')
    input.setAttribute('inputmode', kind === 'integer' ? 'numeric' : 'decimal')
  }
  if (kind === 'datetime') input.setAttribute('step', '1')
  if (kind === 'json') input.setAttribute('placeholder', JSON.stringify(skeleton(schema)))
}

function readValue(input: ArgField['input'], schema: JsonSchema, kind: Kind, name: string, required: boolean): FieldValue {
  const text = input.value
  if (text.trim() === '') return required ? { error: `${name} is required` } : { present: false }
  switch (kind) {
    case 'choice': {
      const values = schema.enum ?? [true, false]
      return { present: true, value: values[Number(text)] }
    }
    case 'text':
      return checkText(text, schema, name)
    case 'datetime': {
      const when = new Date(text)
      return Number.isNaN(when.getTime()) ? { error: `${name} must be a date and time` } : { present: true, value: when.toISOString() }
    }
    case 'integer':
    case 'number':
      return checkNumber(Number(text), schema, kind, name)
    case 'json':
      return checkJson(text, schema, name)
  }
}

function checkText(text: string, schema: JsonSchema, name: string): FieldValue {
  if (schema.minLength !== undefined && text.length < schema.minLength) return { error: `${name} needs at least ${schema.minLength} characters` }
  if (schema.maxLength !== undefined && text.length > schema.maxLength) return { error: `${name} takes at most ${schema.maxLength} characters` }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(text)) return { error: `${name} must match ${schema.pattern}` }
  return { present: true, value: text }
}

function checkNumber(value: number, schema: JsonSchema, kind: Kind, name: string): FieldValue {
  if (!Number.isFinite(value) || (kind === 'integer' && !Number.isInteger(value))) return { error: `${name} must be ${kind === 'integer' ? 'a whole number' : 'a number'}` }
  if (schema.minimum !== undefined && value < schema.minimum) return { error: `${name} must be at least ${schema.minimum}` }
  if (schema.maximum !== undefined && value > schema.maximum) return { error: `${name} must be at most ${schema.maximum}` }
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return { error: `${name} must be more than ${schema.exclusiveMinimum}` }
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return { error: `${name} must be less than ${schema.exclusiveMaximum}` }
  return { present: true, value }
}

/** Only the outer shape is checked here; the server names anything deeper that does not fit. */
function checkJson(text: string, schema: JsonSchema, name: string): FieldValue {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { error: `${name} is not valid JSON` }
  }
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value
  if (schema.type && schema.type !== type) return { error: `${name} must be a JSON ${schema.type}` }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return { error: `${name} needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}` }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return { error: `${name} takes at most ${schema.maxItems} items` }
  }
  return { present: true, value }
}

/** The smallest value of the schema's shape with its required parts, as a placeholder to start from. */
function skeleton(schema: JsonSchema): unknown {
  switch (schema.type) {
    case 'array':
      return (schema.minItems ?? 0) > 0 && schema.items ? [skeleton(schema.items)] : []
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((k) => [k, skeleton(schema.properties?.[k] ?? {})]))
    case 'string': return ''
    case 'integer':
    case 'number': return schema.minimum ?? 0
    case 'boolean': return false
    default: return null
  }
}
