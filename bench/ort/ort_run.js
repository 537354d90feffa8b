#!/usr/bin/env node
'use strict';
// ONNX Runtime peer runner for QBench: runs an .onnx model on .npy inputs with onnxruntime-node
// (CPU), writes the outputs as .npy and optionally times inference. QBench uses it as the
// reference engine that its own (quantized) engine is compared against, for both numbers
// (outputs) and speed (latency distribution), so every setting that affects either is explicit.
//
// Usage: see usage() below or bench/ort/README.md. Exit codes: 0 ok, 1 inference failure,
// 2 usage / input errors (missing file, bad .npy, unknown input name, shape or dtype mismatch).

const fs = require('fs');
const path = require('path');
const npy = require('./npy');
const { readModelIo } = require('./onnx_meta');

const USAGE = `usage: node bench/ort/ort_run.js --model M.onnx --out-dir DIR
         (--input NAME=FILE.npy ... | --input-batch NAME=FILE.npy ... [--batch B])
         [--threads N] [--opt all|extended|basic|disabled]
         [--time [--warmup W] [--iters I] [--min-seconds S]]

  --input NAME=FILE        feed FILE (.npy) to graph input NAME, as is (repeatable)
  --input-batch NAME=FILE  split FILE along axis 0 into batches and run them one after another,
                           concatenating the outputs along axis 0 (repeatable; all such inputs
                           must have the same first dimension). --input values are fed unchanged
                           to every batch.
  --batch B                batch size for --input-batch (default 64). If the model's batch
                           axis is fixed, that size is used instead and must divide the count.
  --out-dir DIR            each output is written to DIR/<output name>.npy (float outputs as
                           float32, float16 converted; integer outputs keep their type)
  --threads N              intra-op threads (default 1); inter-op is always 1, sequential
  --opt LEVEL              graph optimisation level (default all)
  --time                   after the run that produces outputs: W warm-up runs (default 5), then
                           run until both I iterations (default 50) and S seconds (default 1)
                           are reached; print one JSON line of latency statistics to stdout.
                           With --input-batch, times every batch of one pass instead.`;

class UsageError extends Error {}

function fail(msg, code = 2) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const a = {
    model: null, inputs: [], batchInputs: [], batch: null, outDir: null, threads: 1, opt: 'all',
    time: false, warmup: 5, iters: 50, minSeconds: 1,
  };
  const need = (i, flag) => {
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[i + 1];
  };
  const int = (v, flag, min) => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${flag} must be an integer >= ${min}, got '${v}'`);
    return Number(v);
  };
  const pair = (v, flag) => {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new UsageError(`${flag} expects NAME=FILE.npy, got '${v}'`);
    return { name: v.slice(0, eq), file: v.slice(eq + 1) };
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--model': a.model = need(i, flag); i++; break;
      case '--input': a.inputs.push(pair(need(i, flag), flag)); i++; break;
      case '--input-batch': a.batchInputs.push(pair(need(i, flag), flag)); i++; break;
      case '--batch': a.batch = int(need(i, flag), flag, 1); i++; break;
      case '--out-dir': a.outDir = need(i, flag); i++; break;
      case '--threads': a.threads = int(need(i, flag), flag, 1); i++; break;
      case '--opt': {
        a.opt = need(i, flag); i++;
        if (!['all', 'extended', 'basic', 'disabled'].includes(a.opt)) throw new UsageError(`--opt must be all, extended, basic or disabled, got '${a.opt}'`);
        break;
      }
      case '--time': a.time = true; break;
      case '--warmup': a.warmup = int(need(i, flag), flag, 0); i++; break;
      case '--iters': a.iters = int(need(i, flag), flag, 1); i++; break;
      case '--min-seconds': {
        const v = need(i, flag); i++;
        a.minSeconds = Number(v);
        if (!Number.isFinite(a.minSeconds) || a.minSeconds < 0) throw new UsageError(`--min-seconds must be a number >= 0, got '${v}'`);
        break;
      }
      case '-h': case '--help': process.stdout.write(`${USAGE}\n`); process.exit(0); break;
      default: throw new UsageError(`unknown argument '${flag}'`);
    }
  }
  if (!a.model) throw new UsageError('--model is required');
  if (!a.outDir) throw new UsageError('--out-dir is required');
  if (a.batch !== null && a.batchInputs.length === 0) throw new UsageError('--batch only applies to --input-batch');
  const names = [...a.inputs, ...a.batchInputs].map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UsageError(`input '${dup}' given more than once`);
  return a;
}

// Make the .npy data match the model's declared element type. Only float32 <-> float16 is
// converted (fp16 models are routinely fed fp32 data); any other mismatch is an error because a
// silent cast would hide a wrong input file.
function coerce(arr, want, name) {
  if (!want || want === arr.ortType) return arr;
  if (want === 'float16' && arr.ortType === 'float32') return { ...arr, ortType: 'float16', data: npy.float32ArrayToHalf(arr.data) };
  if (want === 'float32' && arr.ortType === 'float16') return { ...arr, ortType: 'float32', data: npy.halfArrayToFloat32(arr.data) };
  throw new UsageError(`input '${name}': model expects ${want} but the .npy holds ${arr.ortType} (${arr.dtype})`);
}

// Check a concrete shape against the declared one (numbers must match; symbols/unknowns match anything).
function checkShape(shape, decl, name) {
  if (!decl) return;
  const ok = shape.length === decl.length && decl.every((d, i) => typeof d !== 'number' || d === shape[i]);
  if (!ok) {
    const fmt = (s) => `[${s.map((d) => (d === null ? '?' : d)).join(',')}]`;
    throw new UsageError(`input '${name}': shape ${fmt(shape)} does not match the model's ${fmt(decl)}`);
  }
}

// Output names can contain '/' or ':'; keep file names portable and inside DIR.
const fileNameFor = (name) => `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`;

const NPY_DESCR = { float32: '<f4', uint8: '|u1', int8: '|i1', int32: '<i4', int64: '<i8' };

function writeOutput(dir, name, type, dims, data) {
  let descr = NPY_DESCR[type];
  if (type === 'float16') { data = npy.halfArrayToFloat32(data); descr = '<f4'; }
  else if (type === 'float64') { data = Float32Array.from(data); descr = '<f4'; }
  else if (type === 'bool') { data = Uint8Array.from(data, (v) => (v ? 1 : 0)); descr = '|u1'; }
  if (!descr) throw new Error(`output '${name}': cannot write element type ${type}`);
  npy.writeNpy(path.join(dir, fileNameFor(name)), data, dims, descr);
}

// Nearest-rank percentile: the smallest sample with at least p% of samples <= it.
function percentile(sorted, p) {
  const idx = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.min(idx, sorted.length - 1)];
}

function stats(timesMs) {
  const s = Float64Array.from(timesMs).sort();
  const round = (v) => Math.round(v * 1e4) / 1e4;
  return {
    iters: s.length,
    median_ms: round(percentile(s, 50)),
    p90_ms: round(percentile(s, 90)),
    p99_ms: round(percentile(s, 99)),
    min_ms: round(s[0]),
    mean_ms: round(s.reduce((x, y) => x + y, 0) / s.length),
  };
}

async function timedRun(session, feeds) {
  const t0 = process.hrtime.bigint();
  const out = await session.run(feeds);
  return { out, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message}\n${USAGE}`);
    throw e;
  }
  if (args.inputs.length === 0 && args.batchInputs.length === 0) fail(`no inputs given\n${USAGE}`);
  if (!fs.existsSync(args.model)) fail(`model file not found: ${args.model}`);

  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (run 'npm install --ignore-scripts' in bench/): ${e.message}`);
  }

  let io;
  try {
    io = readModelIo(args.model);
  } catch (e) {
    fail(`cannot read ${args.model} as an ONNX model: ${e.message}`);
  }
  const declared = new Map(io.inputs.map((i) => [i.name, i]));
  const outTypes = new Map(io.outputs.map((o) => [o.name, o.type]));

  // Load and validate all inputs before creating the session, so user errors are reported
  // clearly (exit 2) instead of as ORT runtime failures.
  const fixed = {};
  const batched = {};
  try {
    for (const { name, file } of [...args.inputs, ...args.batchInputs]) {
      if (!declared.has(name)) {
        throw new UsageError(`unknown input name '${name}'; model inputs: ${[...declared.keys()].join(', ')}`);
      }
      const d = declared.get(name);
      const arr = coerce(npy.readNpy(file), d.type, name);
      if (args.inputs.some((p) => p.name === name)) {
        checkShape(arr.shape, d.shape, name);
        fixed[name] = arr;
      } else {
        if (arr.shape.length === 0) throw new UsageError(`--input-batch '${name}': a scalar has no batch axis`);
        // Axis 0 is the one being split, so only the remaining axes are checked here.
        if (d.shape) checkShape(arr.shape, [null, ...d.shape.slice(1)], name);
        batched[name] = arr;
      }
    }
    const missing = [...declared.keys()].filter((n) => !(n in fixed) && !(n in batched));
    if (missing.length) throw new UsageError(`no data for model input(s): ${missing.join(', ')}`);
  } catch (e) {
    if (e instanceof UsageError || e instanceof npy.NpyError) fail(e.message);
    throw e;
  }

  try {
    fs.mkdirSync(args.outDir, { recursive: true });
  } catch (e) {
    fail(`cannot create output directory ${args.outDir}: ${e.message}`);
  }

  let session;
  try {
    session = await ort.InferenceSession.create(args.model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: args.threads,
      interOpNumThreads: 1,          // one graph branch at a time: stable, comparable timings
      executionMode: 'sequential',
      graphOptimizationLevel: args.opt,
    });
  } catch (e) {
    fail(`cannot load model ${args.model}: ${e.message}`);
  }

  const report = (extra) => {
    process.stdout.write(`${JSON.stringify({
      runtime: 'onnxruntime-node',
      version: ort.env.versions.node || ort.env.versions.common,
      threads: args.threads,
      ...extra,
      opt: args.opt,
      model: path.basename(args.model),
    })}\n`);
  };

  const toTensor = (arr, dims = arr.shape, data = arr.data) => new ort.Tensor(arr.ortType, data, dims);

  try {
    if (Object.keys(batched).length === 0) {
      // ---- single run (+ optional timing loop) ----
      const feeds = {};
      for (const [name, arr] of Object.entries(fixed)) feeds[name] = toTensor(arr);
      const { out } = await timedRun(session, feeds);
      for (const name of session.outputNames) {
        const t = out[name];
        writeOutput(args.outDir, name, t.type, t.dims, t.data);
      }
      if (args.time) {
        for (let i = 0; i < args.warmup; i++) await session.run(feeds);
        const times = [];
        const minNs = BigInt(Math.round(args.minSeconds * 1e9));
        const start = process.hrtime.bigint();
        while (times.length < args.iters || process.hrtime.bigint() - start < minNs) {
          times.push((await timedRun(session, feeds)).ms);
        }
        report(stats(times));
      }
      return;
    }

    // ---- batch evaluation: split axis 0, run batch by batch, concatenate outputs ----
    const counts = Object.entries(batched).map(([n, a]) => [n, a.shape[0]]);
    const total = counts[0][1];
    const bad = counts.find(([, c]) => c !== total);
    if (bad) fail(`--input-batch inputs differ in length: ${counts.map(([n, c]) => `${n}=${c}`).join(', ')}`);
    // A fixed (numeric) batch dimension in the model overrides --batch: e.g. mnist-8 is [1,1,28,28]
    // and must be fed one sample at a time. A symbolic one accepts any size, so the last,
    // partial batch is allowed.
    const fixedDims = Object.keys(batched).map((n) => declared.get(n).shape).filter((s) => s && typeof s[0] === 'number').map((s) => s[0]);
    let bs = args.batch || 64;
    if (fixedDims.length) {
      bs = fixedDims[0];
      if (fixedDims.some((d) => d !== bs)) fail(`batched inputs have different fixed batch sizes: ${fixedDims.join(', ')}`);
      if (args.batch && args.batch !== bs) process.stderr.write(`ort_run: model batch axis is fixed at ${bs}; ignoring --batch ${args.batch}\n`);
      if (total % bs !== 0) fail(`${total} samples is not a multiple of the model's fixed batch size ${bs}`);
    }
    const staticFeeds = {};
    for (const [name, arr] of Object.entries(fixed)) staticFeeds[name] = toTensor(arr);
    const chunks = new Map(session.outputNames.map((n) => [n, []]));
    const times = [];
    for (let start = 0; start < total; start += bs) {
      const n = Math.min(bs, total - start);
      const feeds = { ...staticFeeds };
      for (const [name, arr] of Object.entries(batched)) {
        const per = arr.data.length / arr.shape[0];
        feeds[name] = toTensor(arr, [n, ...arr.shape.slice(1)], arr.data.subarray(start * per, (start + n) * per));
      }
      const { out, ms } = await timedRun(session, feeds);
      times.push(ms);
      for (const name of session.outputNames) chunks.get(name).push(out[name]);
    }
    for (const [name, parts] of chunks) {
      const first = parts[0];
      if (parts.some((p) => p.dims.length === 0 || p.type !== first.type || p.dims.slice(1).join() !== first.dims.slice(1).join())) {
        throw new Error(`output '${name}' cannot be concatenated along axis 0 (shapes differ between batches)`);
      }
      const len = parts.reduce((s, p) => s + p.data.length, 0);
      const data = new first.data.constructor(len);
      let off = 0;
      for (const p of parts) { data.set(p.data, off); off += p.data.length; }
      const dims = [parts.reduce((s, p) => s + p.dims[0], 0), ...first.dims.slice(1)];
      writeOutput(args.outDir, name, first.type || outTypes.get(name), dims, data);
    }
    if (args.time) {
      const s = stats(times);
      const totalMs = times.reduce((x, y) => x + y, 0);
      report({ ...s, mode: 'batch', batch: bs, samples: total, total_ms: Math.round(totalMs * 1e3) / 1e3, samples_per_s: Math.round((total / totalMs) * 1e5) / 100 });
    }
  } catch (e) {
    fail(`inference failed: ${e.message}`, 1);
  }
}

main().catch((e) => fail(`unexpected error: ${e.stack || e}`, 1));
