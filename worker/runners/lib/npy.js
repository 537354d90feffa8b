'use strict';
// Minimal NumPy .npy reader/writer (format versions 1.0, 2.0 and 3.0 headers).
// Why our own: the ONNX Runtime runners (worker/runners/ort_runner.js, bench/ort/ort_run.js)
// must not pull extra npm packages, and QBench only needs C-order arrays of a few
// little-endian dtypes to move tensors between Python, C++ and ORT.

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

// descr -> { ctor: TypedArray, ort: ONNX Runtime tensor type, bytes }
// float16 has no JS typed array; ORT node 1.20 takes 'float16' tensors as Uint16Array bit patterns.
const DTYPES = {
  '<f4': { ctor: Float32Array, ort: 'float32', bytes: 4 },
  '<f2': { ctor: Uint16Array, ort: 'float16', bytes: 2 },
  '|u1': { ctor: Uint8Array, ort: 'uint8', bytes: 1 },
  '|i1': { ctor: Int8Array, ort: 'int8', bytes: 1 },
  '<i4': { ctor: Int32Array, ort: 'int32', bytes: 4 },
  '<i8': { ctor: BigInt64Array, ort: 'int64', bytes: 8 },
};
// NumPy writes single-byte types with '|' but some writers use '<' or '='; accept both spellings.
const ALIASES = { '<u1': '|u1', '=u1': '|u1', '<i1': '|i1', '=i1': '|i1', '<b1': '|b1' };

class NpyError extends Error {}

// Parse the Python-dict header, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }
// with targeted regexes rather than a general literal parser: numpy always writes these 3 keys.
function parseHeader(text, file) {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new NpyError(`${file}: malformed .npy header: ${text.trim()}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) throw new NpyError(`${file}: bad dimension '${s}' in .npy shape`);
    return Number(s);
  });
  return { descr: ALIASES[descr[1]] || descr[1], fortranOrder: fortran[1] === 'True', shape: dims };
}

// Returns { dtype (npy descr), ortType, shape: number[], data: TypedArray }.
function parseNpy(buf, file = '<buffer>') {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new NpyError(`${file}: not a .npy file (bad magic)`);
  const major = buf[6];
  let headerLen;
  let headerStart;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) { // v3 only differs by allowing utf8 in the header
    if (buf.length < 12) throw new NpyError(`${file}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new NpyError(`${file}: unsupported .npy format version ${major}.${buf[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) throw new NpyError(`${file}: truncated .npy header`);
  const hdr = parseHeader(buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart), file);
  if (hdr.fortranOrder) throw new NpyError(`${file}: Fortran-order arrays are not supported (save with np.ascontiguousarray)`);
  const dt = DTYPES[hdr.descr];
  if (!dt) throw new NpyError(`${file}: unsupported dtype '${hdr.descr}' (supported: ${Object.keys(DTYPES).join(', ')})`);
  const count = hdr.shape.reduce((a, b) => a * b, 1);
  const nbytes = count * dt.bytes;
  if (buf.length - dataStart < nbytes) {
    throw new NpyError(`${file}: expected ${nbytes} data bytes for shape [${hdr.shape}] ${hdr.descr}, found ${buf.length - dataStart}`);
  }
  // Copy into a fresh, aligned ArrayBuffer: typed arrays need offset % element size == 0,
  // which the header length does not guarantee for every writer.
  const data = new dt.ctor(count);
  Buffer.from(data.buffer).set(buf.subarray(dataStart, dataStart + nbytes));
  return { dtype: hdr.descr, ortType: dt.ort, shape: hdr.shape, data };
}

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new NpyError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  return parseNpy(buf, file);
}

// Serialise a C-order array. Header is padded with spaces so that data starts on a 64-byte
// boundary (what numpy does), and uses v1 unless the header is too long for a uint16 length.
function encodeNpy(data, shape, descr) {
  const dt = DTYPES[descr];
  if (!dt) throw new NpyError(`cannot write dtype '${descr}'`);
  if (!(data instanceof dt.ctor)) throw new NpyError(`data for '${descr}' must be a ${dt.ctor.name}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  let version = 1;
  let preamble = 10;
  if (dict.length + 1 + preamble > 0xffff) { version = 2; preamble = 12; }
  const total = Math.ceil((preamble + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - preamble - dict.length - 1) + '\n';
  const head = Buffer.alloc(preamble);
  MAGIC.copy(head, 0);
  head[6] = version;
  head[7] = 0;
  if (version === 1) head.writeUInt16LE(dict.length, 8); else head.writeUInt32LE(dict.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), body]);
}

function writeNpy(file, data, shape, descr = '<f4') {
  fs.writeFileSync(file, encodeNpy(data, shape, descr));
}

// IEEE half -> float, exact (every half value is representable as a float32).
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;               // zero / subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;      // inf / NaN
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function halfArrayToFloat32(u16) {
  const out = new Float32Array(u16.length);
  for (let i = 0; i < u16.length; i++) out[i] = halfToFloat(u16[i]);
  return out;
}

// float -> IEEE half with round-to-nearest-even; used when the model wants float16 but the
// .npy holds float32.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function floatToHalf(v) {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);  // inf / NaN (quiet)
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;                           // overflow -> inf
  if (e <= 0) {                                                  // subnormal half or zero
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;          // may carry into exponent: correct
  return sign | h;
}

function float32ArrayToHalf(f) {
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = floatToHalf(f[i]);
  return out;
}

module.exports = {
  NpyError, DTYPES, parseNpy, readNpy, encodeNpy, writeNpy,
  halfToFloat, floatToHalf, halfArrayToFloat32, float32ArrayToHalf,
};
