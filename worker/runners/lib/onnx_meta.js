'use strict';
// Reads the declared graph inputs/outputs (name, element type, shape) of an .onnx file.
// Why: onnxruntime-node 1.20 exposes only input/output *names*, but the runner must know the
// element type (to feed float16 models from float32 .npy files) and whether the batch axis is
// fixed or symbolic (to pick the batch size in --input-batch mode). Instead of a protobuf
// dependency this walks the few ModelProto fields it needs with a tiny wire-format reader.

const fs = require('fs');

// onnx.TensorProto.DataType -> ORT tensor type name (only what QBench models use).
const ELEM_TYPES = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};

// Iterate the fields of one protobuf message stored in buf[start, end).
// Yields { field, wire, value } for varints and { field, wire, start, end } for length-delimited.
function* fields(buf, start, end) {
  let pos = start;
  const varint = () => {
    // Accumulate with multiplication, not bit ops, so values above 2^31 (int64 dims) survive.
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= end) throw new Error('truncated protobuf varint');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  };
  while (pos < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      yield { field, wire, value: varint() };
    } else if (wire === 2) {
      const len = varint();
      if (pos + len > end) throw new Error('truncated protobuf field');
      yield { field, wire, start: pos, end: pos + len };
      pos += len;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

const str = (buf, f) => buf.toString('utf8', f.start, f.end);

// ValueInfoProto{name=1, type=2} -> TypeProto{tensor_type=1} -> Tensor{elem_type=1, shape=2}
//   -> TensorShapeProto{dim=1} -> Dimension{dim_value=1 | dim_param=2}
function parseValueInfo(buf, vi) {
  const info = { name: '', type: null, shape: null };
  for (const f of fields(buf, vi.start, vi.end)) {
    if (f.field === 1 && f.wire === 2) info.name = str(buf, f);
    if (f.field !== 2 || f.wire !== 2) continue;
    for (const t of fields(buf, f.start, f.end)) {
      if (t.field !== 1 || t.wire !== 2) continue; // not a plain tensor (sequence, map, ...)
      for (const tt of fields(buf, t.start, t.end)) {
        if (tt.field === 1 && tt.wire === 0) info.type = ELEM_TYPES[tt.value] || `onnx_type_${tt.value}`;
        if (tt.field === 2 && tt.wire === 2) {
          info.shape = [];
          for (const d of fields(buf, tt.start, tt.end)) {
            if (d.field !== 1 || d.wire !== 2) continue;
            let dim = null; // null = unknown/symbolic
            for (const dd of fields(buf, d.start, d.end)) {
              if (dd.field === 1 && dd.wire === 0) dim = dd.value;
              if (dd.field === 2 && dd.wire === 2) dim = str(buf, dd);
            }
            info.shape.push(dim);
          }
        }
      }
    }
  }
  return info;
}

// Returns { inputs: [{name, type, shape}], outputs: [...] } where shape entries are numbers
// (fixed), strings (symbolic, e.g. "batch") or null (unknown); shape null = rank unknown.
// Graph inputs that are also initializers (old IR versions list weights as inputs) are dropped.
function readModelIo(file) {
  const buf = fs.readFileSync(file);
  let graph = null;
  for (const f of fields(buf, 0, buf.length)) {
    if (f.field === 7 && f.wire === 2) graph = f; // ModelProto.graph
  }
  if (!graph) throw new Error(`${file}: no graph found (not an ONNX model?)`);
  const inputs = [];
  const outputs = [];
  const initNames = new Set();
  for (const f of fields(buf, graph.start, graph.end)) {
    if (f.wire !== 2) continue;
    if (f.field === 11) inputs.push(parseValueInfo(buf, f));
    else if (f.field === 12) outputs.push(parseValueInfo(buf, f));
    else if (f.field === 5) { // TensorProto.name = 8
      for (const t of fields(buf, f.start, f.end)) if (t.field === 8 && t.wire === 2) initNames.add(str(buf, t));
    }
  }
  return { inputs: inputs.filter((i) => !initNames.has(i.name)), outputs };
}

module.exports = { readModelIo };
