// The Isolation Forest's scoring loop as a small WebAssembly function, assembled here from its
// bytecode (no build step, no binary file). Why not TypeScript: the walk is ~800 node visits
// per event (100 trees × depth 8); in JavaScript each visit costs three bounds-checked
// typed-array loads, and eight interleaved walks spill registers, which held it at ~0.5 M
// events/s. WebAssembly loads need no bounds checks (guard pages) and its locals stay in
// registers, which roughly doubles the rate. The arithmetic is the same IEEE f64 in the same
// order, so scores are bit-identical to the TypeScript walk.
//
// Memory layout (bytes, little-endian), one WebAssembly.Memory per forest:
//   [0, 8·columns)          the event being scored, f64 per feature
//   nodeBase + 16·n         node n: f64 threshold, i32 byte offset of its feature in the
//                           event, i32 byte address of its left child (the right child is the
//                           next record)
//   pathBase + 8·n          f64 depth + c(size) of node n (read at external nodes only)
//   rootBase + 4·t          i32 byte address of tree t's root
// Sixteen-byte records keep a 100-tree, 256-sample forest (~51,000 nodes) within a 1 MB L2
// cache; the path lengths are read once per tree, so they live apart. An external node has
// threshold +Infinity, feature 0 and itself as left child: a walk that reaches it stays there,
// so every walk runs the same number of steps with no branch on data.

const recordBytes = 16

// The part of the WebAssembly JS API used here (TypeScript's `lib` has no WebAssembly types
// without the DOM; Node.js always provides the global).
interface WasmMemory {
  readonly buffer: ArrayBuffer
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

/** The forest in the form the kernel reads. Node arrays are indexed by node number. */
export interface KernelForest {
  readonly columns: number
  readonly roots: Int32Array
  /** Split feature, -1 at external nodes. */
  readonly feature: Int32Array
  readonly threshold: Float64Array
  /** Left child (right = left + 1). */
  readonly left: Int32Array
  /** depth + c(size) at external nodes; unused at internal nodes. */
  readonly pathLength: Float64Array
  /** Steps that reach every external node. */
  readonly steps: number
}

/** Sums each tree's path length for one event, in the order the TypeScript walk did. */
export class ForestKernel {
  readonly #event: Float64Array
  readonly #sum: (trees: number, steps: number, rootBase: number, pathOffset: number) => number
  readonly #trees: number
  readonly #steps: number
  readonly #rootBase: number
  readonly #pathOffset: number

  constructor(forest: KernelForest) {
    const { columns, roots, feature, threshold, left, pathLength, steps } = forest
    const nodes = feature.length
    // nodeBase is a multiple of 16 so that (record address >> 1) + pathOffset is 8-aligned.
    const nodeBase = Math.ceil((columns * 8) / 16) * 16
    const pathBase = nodeBase + nodes * recordBytes
    const rootBase = pathBase + nodes * 8
    const bytes = rootBase + roots.length * 4
    const memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) })
    const view = new DataView(memory.buffer)
    for (let node = 0; node < nodes; node++) {
      const at = nodeBase + node * recordBytes
      const external = feature[node]! < 0
      view.setFloat64(at, external ? Number.POSITIVE_INFINITY : threshold[node]!, true)
      view.setInt32(at + 8, external ? 0 : feature[node]! * 8, true)
      view.setInt32(at + 12, nodeBase + (external ? node : left[node]!) * recordBytes, true)
      view.setFloat64(pathBase + node * 8, external ? pathLength[node]! : 0, true)
    }
    for (let t = 0; t < roots.length; t++) view.setInt32(rootBase + t * 4, nodeBase + roots[t]! * recordBytes, true)
    const instance = new wasm.Instance(compiledModule(), { env: { memory } })
    this.#sum = instance.exports.sumPathLengths as (
      trees: number,
      steps: number,
      rootBase: number,
      pathOffset: number,
    ) => number
    this.#event = new Float64Array(memory.buffer, 0, columns)
    this.#trees = roots.length
    this.#steps = steps
    this.#rootBase = rootBase
    this.#pathOffset = pathBase - nodeBase / 2
  }

  /** Σ over trees of the path length of `x` (length = columns, checked by the caller). */
  sumPathLengths(x: Float64Array): number {
    const event = this.#event
    for (let i = 0; i < event.length; i++) event[i] = x[i]!
    return this.#sum(this.#trees, this.#steps, this.#rootBase, this.#pathOffset)
  }

  /** Same, for row `row` of a row-major matrix with `columns` values per row. */
  sumPathLengthsOfRow(data: Float64Array, row: number): number {
    const event = this.#event
    const start = row * event.length
    for (let i = 0; i < event.length; i++) event[i] = data[start + i]!
    return this.#sum(this.#trees, this.#steps, this.#rootBase, this.#pathOffset)
  }
}

let cached: object | undefined
function compiledModule(): object {
  cached ??= new wasm.Module(assemble())
  return cached
}

// Opcodes used below (WebAssembly core specification, binary format).
const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f64Load: 0x2b,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32GtS: 0x4a,
  f64Gt: 0x64,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f64Add: 0xa0,
} as const
const emptyBlock = 0x40
const i32 = 0x7f
const f64 = 0x7c

// Walks run side by side so that their loads overlap: sixteen at a time, then eight, then
// one. Path lengths are added eight at a time, then one at a time, exactly as the TypeScript
// walk did, so that the f64 sums are bit-identical.
const wideLanes = 16
const sumGroup = 8
// Locals: parameters, then the tree counter, the step counter, the walk positions, the total.
const trees = 0
const steps = 1
const rootBase = 2
const pathOffset = 3
const tree = 4
const step = 5
const walk = Array.from({ length: wideLanes }, (_, i) => 6 + i)
const total = 6 + wideLanes

/**
 * (func (param trees i32) (param steps i32) (param rootBase i32) (param pathOffset i32)
 *       (result f64))
 * Σ over trees of the path length of the event at address 0.
 */
function assemble(): Uint8Array {
  const body: number[] = []
  const emit = (...bytes: number[]) => body.push(...bytes)
  const i32Const = (value: number) => emit(op.i32Const, ...signedLeb(value))
  // position = load_i32(position + 12) + ((x[load_i32(position + 8)] > threshold) << 4)
  const stepOnce = (position: number) => {
    emit(op.localGet, position, op.i32Load, 2, 12)
    emit(op.localGet, position, op.i32Load, 2, 8, op.f64Load, 3, 0)
    emit(op.localGet, position, op.f64Load, 3, 0, op.f64Gt)
    i32Const(4)
    emit(op.i32Shl, op.i32Add, op.localSet, position)
  }
  // f64 path length of the external node at `position`: load_f64((position >> 1) + pathOffset)
  const pathLengthAt = (position: number) => {
    emit(op.localGet, position)
    i32Const(1)
    emit(op.i32ShrU, op.localGet, pathOffset, op.i32Add, op.f64Load, 3, 0)
  }
  // Walks `width` trees from `tree` while at least `width` remain, adding their path lengths.
  const groupLoop = (width: number) => {
    const positions = walk.slice(0, width)
    emit(op.block, emptyBlock, op.loop, emptyBlock)
    emit(op.localGet, tree)
    i32Const(width)
    emit(op.i32Add, op.localGet, trees, op.i32GtS, op.brIf, 1)
    positions.forEach((position, i) => {
      emit(op.localGet, rootBase, op.localGet, tree)
      i32Const(2)
      emit(op.i32Shl, op.i32Add, op.i32Load, 2, ...unsignedLeb(i * 4), op.localSet, position)
    })
    // `steps` times (none when steps is 0).
    emit(op.localGet, steps, op.localSet, step)
    emit(op.block, emptyBlock, op.localGet, step, op.i32Eqz, op.brIf, 0)
    emit(op.loop, emptyBlock)
    for (const position of positions) stepOnce(position)
    emit(op.localGet, step)
    i32Const(1)
    emit(op.i32Sub, op.localTee, step, op.brIf, 0, op.end, op.end)
    for (let first = 0; first < width; first += sumGroup) {
      emit(op.localGet, total)
      positions.slice(first, first + sumGroup).forEach((position, i) => {
        pathLengthAt(position)
        if (i > 0) emit(op.f64Add)
      })
      emit(op.f64Add, op.localSet, total)
    }
    emit(op.localGet, tree)
    i32Const(width)
    emit(op.i32Add, op.localSet, tree)
    emit(op.br, 0, op.end, op.end)
  }
  groupLoop(wideLanes)
  groupLoop(sumGroup)
  groupLoop(1)
  emit(op.localGet, total, op.end)

  const locals = [2, 2 + wideLanes, i32, 1, f64] // the counters and walk positions, then the total
  const code = [...locals, ...body]
  const section = (id: number, content: number[]) => [id, ...unsignedLeb(content.length), ...content]
  const name = (text: string) => [text.length, ...Array.from(text, (c) => c.charCodeAt(0))]
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 4, i32, i32, i32, i32, 1, f64]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('sumPathLengths'), 0x00, 0]),
    ...section(10, [1, ...unsignedLeb(code.length), ...code]),
  ])
}

function unsignedLeb(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value & 0x7f
    value >>>= 7
    if (value !== 0) byte |= 0x80
    out.push(byte)
  } while (value !== 0)
  return out
}

function signedLeb(value: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = value & 0x7f
    value >>= 7
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}
