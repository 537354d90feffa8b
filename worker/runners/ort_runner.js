#!/usr/bin/env node
'use strict';
// QBench device runner for ONNX Runtime (npm onnxruntime-node 1.20), speaking the runner
// protocol of docs/devices.md:
//
//   node ort_runner.js W/request.json   run the request; outputs, W/result.json
//   node ort_runner.js --describe       one JSON line: runtime, version, providers, meters
//
// The worker starts it once per configuration in a process of its own. Everything it reads
// is checked before use, so a bad request or a broken file ends in one short reason in
// W/error.txt (paths relative to W: the reason is shown to users) and exit status 2 (bad
// request or input files) or 1 (the model, the provider or inference failed). The session
// settings match bench/ort/ort_run.js (intra-op threads as asked, one inter-op thread,
// sequential, all graph optimisations), so device and peer timings mean the same thing.

const fs = require('fs');
const path = require('path');
const npy = require('./lib/npy');
const { readModelIo } = require('./lib/onnx_meta');

const PROTOCOL = 1;
const PROVIDERS = ['cpu', 'cuda', 'tensorrt'];
// Bounds far above what the worker asks for; they only stop a corrupt request from making
// the runner loop or allocate without end.
const LIMITS = {
  threads: 256, evalBatches: 1_000_000, timingEntries: 64, runs: 10_000_000, seconds: 86_400,
  batchSize: 2 ** 31, pathBytes: 1024, nameBytes: 1024,
};
const ERROR_BYTES = 300; // what the worker shows of error.txt

class RequestError extends Error {} // exit 2: the request or its files are wrong
class RunError extends Error {}     // exit 1: the model, the provider or a run failed

// ---------------------------------------------------------------------------------------
// The request

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function int(v, what, min, max) {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RequestError(`request: ${what} must be an integer in [${min}, ${max}]`);
  return v;
}

function num(v, what, min, max) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new RequestError(`request: ${what} must be a number in [${min}, ${max}]`);
  return v;
}

// A path inside the work directory: relative, no '..' component, no NUL. The worker only
// writes such paths; anything else is refused rather than normalised, because a runner
// that followed it could read or overwrite files outside W.
function relPath(v, what) {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > LIMITS.pathBytes) throw new RequestError(`request: ${what} must be a non-empty path`);
  if (v.includes('\0') || path.isAbsolute(v) || v.includes('\\')) throw new RequestError(`request: ${what} must be a relative path`);
  if (v.split('/').some((part) => part === '..')) throw new RequestError(`request: ${what} must not contain '..'`);
  return v;
}

// Returns the request with defaults filled in; throws RequestError naming the bad field.
function parseRequest(r) {
  if (!isObject(r)) throw new RequestError('request: not a JSON object');
  if (r.protocol !== PROTOCOL) throw new RequestError(`request: protocol ${JSON.stringify(r.protocol)} is not ${PROTOCOL}, the one this runner speaks`);
  const device = r.device === undefined ? {} : r.device;
  if (!isObject(device)) throw new RequestError('request: device must be an object');
  const provider = device.provider === undefined ? 'cpu' : device.provider;
  if (!PROVIDERS.includes(provider)) throw new RequestError(`request: device.provider must be one of ${PROVIDERS.join(', ')}`);
  if (typeof r.input !== 'string' || r.input.length === 0 || Buffer.byteLength(r.input) > LIMITS.nameBytes) throw new RequestError('request: input must be the model input\'s name');
  const out = {
    provider,
    model: relPath(r.model, 'model'),
    input: r.input,
    threads: r.threads === undefined ? 1 : int(r.threads, 'threads', 1, LIMITS.threads),
    result: r.result === undefined ? 'result.json' : relPath(r.result, 'result'),
    eval: [],
    timing: [],
  };
  const evalList = r.eval === undefined ? [] : r.eval;
  if (!Array.isArray(evalList) || evalList.length > LIMITS.evalBatches) throw new RequestError(`request: eval must be a list of at most ${LIMITS.evalBatches} entries`);
  const outputs = new Set();
  evalList.forEach((e, i) => {
    if (!isObject(e)) throw new RequestError(`request: eval[${i}] is not an object`);
    const entry = { input: relPath(e.input, `eval[${i}].input`), output: relPath(e.output, `eval[${i}].output`) };
    if (outputs.has(entry.output)) throw new RequestError(`request: eval[${i}].output repeats ${entry.output}`);
    outputs.add(entry.output);
    out.eval.push(entry);
  });
  const timing = r.timing === undefined ? [] : r.timing;
  if (!Array.isArray(timing) || timing.length > LIMITS.timingEntries) throw new RequestError(`request: timing must be a list of at most ${LIMITS.timingEntries} entries`);
  const sizes = new Set();
  timing.forEach((t, i) => {
    if (!isObject(t)) throw new RequestError(`request: timing[${i}] is not an object`);
    const w = `timing[${i}]`;
    const e = {
      batch_size: int(t.batch_size, `${w}.batch_size`, 1, LIMITS.batchSize),
      input: relPath(t.input, `${w}.input`),
      warmup_runs: int(t.warmup_runs ?? 0, `${w}.warmup_runs`, 0, LIMITS.runs),
      warmup_seconds: num(t.warmup_seconds ?? 0, `${w}.warmup_seconds`, 0, LIMITS.seconds),
      min_runs: int(t.min_runs ?? 1, `${w}.min_runs`, 1, LIMITS.runs),
      max_runs: 0,
      min_seconds: num(t.min_seconds ?? 0, `${w}.min_seconds`, 0, LIMITS.seconds),
    };
    e.max_runs = int(t.max_runs ?? e.min_runs, `${w}.max_runs`, e.min_runs, LIMITS.runs);
    if (sizes.has(e.batch_size)) throw new RequestError(`request: batch size ${e.batch_size} is timed twice`);
    sizes.add(e.batch_size);
    out.timing.push(e);
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Messages users see

// One line of at most 300 bytes, without absolute paths: the work directory is cut off
// (paths become relative to W) and any other absolute path (ORT's build tree, the
// package's install directory) is reduced to its last component, so the reason shows
// neither the worker's layout nor anything below it.
function cleanMessage(msg, workDir) {
  let s = String(msg);
  for (const dir of new Set([workDir, safeRealpath(workDir)])) {
    if (dir) s = s.split(`${dir}${path.sep}`).join('').split(dir).join('.');
  }
  s = s.replace(/(^|[\s'"(=:[])\/[^\s'"():,\]]*/g, (m, pre) => `${pre}${path.basename(m.slice(pre.length)) || '/'}`);
  s = s.replace(/\s+/g, ' ').trim();
  if (Buffer.byteLength(s) <= ERROR_BYTES) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) { // whole characters only: never half a UTF-8 sequence
    bytes += Buffer.byteLength(ch);
    if (bytes > ERROR_BYTES) break;
    out += ch;
  }
  return out;
}

function safeRealpath(p) {
  try { return fs.realpathSync(p); } catch { return null; }
}

// ORT prefixes its messages with the source location and status code ("/onnxruntime_src/...
// cc:1539 onnxruntime::...Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load ..."); the
// part after the code is the useful one.
function ortMessage(e) {
  const m = String(e && e.message ? e.message : e);
  const k = m.lastIndexOf('[ONNXRuntimeError]');
  if (k < 0) return m;
  const rest = m.slice(k).replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*[A-Z_]+\s*:\s*/, '');
  return rest || m;
}

// ---------------------------------------------------------------------------------------
// ONNX Runtime

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    throw new RunError(`cannot load onnxruntime-node (npm install --ignore-scripts in worker/runners): ${e.code || e.message}`);
  }
}

// The providers this installation can create sessions with: CPU is built in; CUDA and
// TensorRT need their provider libraries next to the binding (npm's install script
// downloads them; --ignore-scripts leaves them out).
function availableProviders(ort) {
  let backends = [];
  try { backends = ort.listSupportedBackends(); } catch { backends = [{ name: 'cpu', bundled: true }]; }
  let binDir = null;
  try {
    binDir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v3', process.platform, process.arch);
  } catch { /* no package directory: only bundled backends count */ }
  return backends.filter((b) => PROVIDERS.includes(b.name)).filter((b) => b.bundled || b.name === 'cpu'
    || (binDir && fs.existsSync(path.join(binDir, `libonnxruntime_providers_${b.name}.so`)))).map((b) => b.name);
}

function ortVersion(ort) {
  return (ort.env && ort.env.versions && (ort.env.versions.node || ort.env.versions.common)) || 'unknown';
}

function describe() {
  let ort;
  try {
    ort = loadOrt();
  } catch (e) {
    process.stderr.write(`ort_runner: ${e.message}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify({ runtime: 'onnxruntime-node', version: ortVersion(ort), providers: availableProviders(ort), meters: [] })}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------
// One run

function readInput(file, decl, what) {
  let arr;
  try {
    arr = npy.readNpy(file);
  } catch (e) {
    throw new RequestError(e.message); // it names the file
  }
  if (arr.ortType !== 'float32') throw new RequestError(`${what}: ${file} holds ${arr.dtype}, the protocol sends float32`);
  if (arr.shape.length === 0) throw new RequestError(`${what}: ${file} is a scalar, not a batch`);
  if (decl.shape) {
    const ok = arr.shape.length === decl.shape.length && decl.shape.every((d, i) => typeof d !== 'number' || d === arr.shape[i]);
    if (!ok) {
      const fmt = (s) => `[${s.map((d) => (typeof d === 'number' ? d : '?')).join(',')}]`;
      throw new RequestError(`${what}: ${file} has shape ${fmt(arr.shape)}, the model's input '${decl.name}' is ${fmt(decl.shape)}`);
    }
  }
  // fp16 models are fed the same float32 samples, rounded to nearest even.
  if (decl.type === 'float16') return { ...arr, ortType: 'float16', data: npy.float32ArrayToHalf(arr.data) };
  return arr;
}

// The first output as float32 [batch, classes]: the worker scores rows of scores, so any
// further dimensions are flattened into the row.
function firstOutputRows(t, name, batch, what) {
  let data;
  if (t.type === 'float32') data = t.data;
  else if (t.type === 'float16') data = npy.halfArrayToFloat32(t.data);
  else if (t.type === 'float64') data = Float32Array.from(t.data);
  else throw new RunError(`${what}: the model's first output '${name}' is ${t.type}, not float scores`);
  if (t.dims.length === 0 || t.dims[0] !== batch) throw new RunError(`${what}: output '${name}' has shape [${t.dims.join(',')}], not ${batch} rows`);
  return { data, dims: [batch, batch === 0 ? 0 : data.length / batch] };
}

async function run(requestPath) {
  const workDir = path.dirname(path.resolve(requestPath));
  const reasonFile = path.join(workDir, 'error.txt');
  try {
    process.chdir(workDir);
    let text;
    try {
      text = fs.readFileSync(path.basename(requestPath), 'utf8');
    } catch (e) {
      throw new RequestError(`cannot read ${path.basename(requestPath)}: ${e.code || e.message}`);
    }
    let raw;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new RequestError(`${path.basename(requestPath)} is not JSON: ${e.message}`);
    }
    const req = parseRequest(raw);
    if (!fs.existsSync(req.model)) throw new RequestError(`${req.model} is missing`);
    let io;
    try {
      io = readModelIo(req.model);
    } catch (e) {
      throw new RunError(`${req.model} is not a readable ONNX model: ${e.message}`);
    }
    const decl = io.inputs.find((i) => i.name === req.input);
    if (!decl) throw new RequestError(`the model has no input '${req.input}' (it has ${io.inputs.map((i) => `'${i.name}'`).join(', ') || 'none'})`);
    if (io.inputs.length !== 1) throw new RunError(`the model has ${io.inputs.length} inputs; the protocol feeds one`);
    if (decl.type !== null && decl.type !== 'float32' && decl.type !== 'float16') throw new RunError(`the model's input '${decl.name}' is ${decl.type}; the protocol feeds float32`);

    const ort = loadOrt();
    let session;
    try {
      session = await ort.InferenceSession.create(req.model, {
        executionProviders: [req.provider],
        intraOpNumThreads: req.threads,
        interOpNumThreads: 1,          // one graph branch at a time: stable, comparable timings
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (e) {
      throw new RunError(`cannot create an ONNX Runtime session with the ${req.provider} provider: ${ortMessage(e)}`);
    }
    const outName = session.outputNames[0];
    if (!outName) throw new RunError('the model has no outputs');
    const tensor = (arr) => new ort.Tensor(arr.ortType, arr.data, arr.shape);
    const runOnce = async (feeds, what) => {
      try {
        return await session.run(feeds);
      } catch (e) {
        throw new RunError(`${what}: inference failed: ${ortMessage(e)}`);
      }
    };

    for (const e of req.eval) {
      const arr = readInput(e.input, decl, e.input);
      const out = await runOnce({ [req.input]: tensor(arr) }, e.input);
      const { data, dims } = firstOutputRows(out[outName], outName, arr.shape[0], e.input);
      try {
        fs.mkdirSync(path.dirname(e.output), { recursive: true });
        npy.writeNpy(e.output, data, dims, '<f4');
      } catch (err) {
        throw new RunError(`cannot write ${e.output}: ${err.code || err.message}`);
      }
    }

    const timings = [];
    for (const t of req.timing) {
      const what = `batch size ${t.batch_size}`;
      const arr = readInput(t.input, decl, t.input);
      if (arr.shape[0] !== t.batch_size) throw new RequestError(`${t.input} holds ${arr.shape[0]} samples, not batch size ${t.batch_size}`);
      const feeds = { [req.input]: tensor(arr) };
      const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
      const w0 = process.hrtime.bigint();
      for (let i = 0; i < t.warmup_runs || since(w0) < t.warmup_seconds; i++) await runOnce(feeds, what);
      const ms = [];
      const s0 = process.hrtime.bigint();
      while (ms.length < t.max_runs && (ms.length < t.min_runs || since(s0) < t.min_seconds)) {
        const t0 = process.hrtime.bigint();
        await runOnce(feeds, what);
        const dt = Number(process.hrtime.bigint() - t0) / 1e6;
        // Nanosecond resolution is all the clock has; the protocol wants positive times.
        ms.push(Math.max(Math.round(dt * 1e6) / 1e6, 1e-6));
      }
      timings.push({ batch_size: t.batch_size, ms });
    }

    const result = { runtime: 'onnxruntime-node', version: ortVersion(ort), provider: req.provider, timings, notes: [] };
    if (req.provider !== 'cpu') result.notes.push(`ONNX Runtime runs the nodes the ${req.provider} provider does not support on the CPU`);
    const tmp = `${req.result}.tmp`;
    try {
      fs.mkdirSync(path.dirname(req.result), { recursive: true });
      fs.writeFileSync(tmp, `${JSON.stringify(result)}\n`);
      fs.renameSync(tmp, req.result); // never a half-written result
    } catch (err) {
      throw new RunError(`cannot write ${req.result}: ${err.code || err.message}`);
    }
    return 0;
  } catch (e) {
    const code = e instanceof RequestError ? 2 : 1;
    const known = e instanceof RequestError || e instanceof RunError;
    const reason = cleanMessage(known ? e.message : `unexpected error: ${e && e.message ? e.message : e}`, workDir);
    process.stderr.write(`ort_runner: ${known ? e.message : (e && e.stack) || e}\n`);
    try { fs.writeFileSync(reasonFile, `${reason}\n`); } catch { /* the exit status still tells */ }
    return code;
  }
}

async function main(argv) {
  if (argv.length === 1 && argv[0] === '--describe') return describe();
  if (argv.length !== 1 || argv[0].startsWith('-')) {
    process.stderr.write('usage: node ort_runner.js W/request.json | --describe   (docs/devices.md)\n');
    return 2;
  }
  return run(argv[0]);
}

if (require.main === module) {
  // Exit explicitly: nothing ORT leaves behind (its thread pools) may keep the process up
  // until the worker's timeout. Writes to pipes and files are synchronous on Linux.
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`ort_runner: ${(e && e.stack) || e}\n`);
    process.exit(1);
  });
}

module.exports = { parseRequest, cleanMessage, ortMessage, RequestError };
