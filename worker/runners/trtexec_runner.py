#!/usr/bin/env python3
"""QBench device runner for TensorRT through NVIDIA's `trtexec` (docs/devices.md).

    python3 trtexec_runner.py W/request.json   run the request; outputs, W/result.json
    python3 trtexec_runner.py --describe       one JSON line: runtime, version, providers, meters

trtexec comes from $TRTEXEC, else PATH. Per distinct input shape it builds one engine from
W/model.onnx (`--int8` when the model holds QuantizeLinear/DequantizeLinear nodes, which
TensorRT then runs as explicit quantization; FP32 otherwise), then runs it on raw float32
copies of the .npy inputs: `--exportOutput` gives the outputs, `--exportTimes` the
per-query times. Energy comes from NVML's total-energy counter (ctypes, libnvidia-ml.so.1),
sampled while trtexec runs and read over the timed queries only.

Python standard library only (no numpy), so a lab machine needs nothing but python3 and
TensorRT. Exit status: 0 ok, 2 bad request or input files, 1 anything else; the reason is in
W/error.txt, one line, paths relative to W. The parsing of what trtexec writes is in pure
functions (parse_*), tested on recorded outputs in testdata/ (trtexec_runner_test.py).
"""

import array
import ctypes
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

PROTOCOL = 1
RUNTIME = "tensorrt-trtexec"
ERROR_BYTES = 300  # what the worker shows of error.txt
# Bounds far above what the worker asks for: they only stop a corrupt request from making
# the runner loop or allocate without end (the same as ort_runner.js).
MAX_THREADS = 256
MAX_EVAL = 1_000_000
MAX_TIMING = 64
MAX_RUNS = 10_000_000
MAX_SECONDS = 86_400.0
MAX_BATCH = 2 ** 31
MAX_PATH_BYTES = 1024
# One trtexec process costs a CUDA context and an engine load (seconds), so evaluation
# batches of a dynamic-batch model are run several at a time, up to this much input and
# output per process (the output comes back as JSON text, ~12 bytes a value).
CHUNK_INPUT_BYTES = 64 << 20
CHUNK_OUTPUT_VALUES = 1 << 20
CHUNK_MAX_ROWS = 4096
NVML_PERIOD_S = 0.01


class RequestError(Exception):
    """Exit 2: the request or its files are wrong."""


class RunError(Exception):
    """Exit 1: the model, trtexec or the machine failed."""


# ------------------------------------------------------------------------------------------
# The request (the same checks as ort_runner.js)


def _int(v, what, lo, hi):
    # bool is an int in Python; JSON true is not a count.
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise RequestError(f"request: {what} must be an integer in [{lo}, {hi}]")
    return v


def _num(v, what, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise RequestError(f"request: {what} must be a number in [{lo}, {hi:g}]")
    return float(v)


def _rel_path(v, what):
    """A path inside the work directory: relative, no '..', no NUL. Anything else is
    refused, not normalised: following it could read or overwrite files outside W."""
    if not isinstance(v, str) or not v or len(v.encode()) > MAX_PATH_BYTES:
        raise RequestError(f"request: {what} must be a non-empty path")
    if "\0" in v or v.startswith("/") or "\\" in v:
        raise RequestError(f"request: {what} must be a relative path")
    if ".." in v.split("/"):
        raise RequestError(f"request: {what} must not contain '..'")
    return v


def parse_request(r):
    """The request with defaults filled in; RequestError names the bad field."""
    if not isinstance(r, dict):
        raise RequestError("request: not a JSON object")
    if r.get("protocol") != PROTOCOL or isinstance(r.get("protocol"), bool):
        raise RequestError(f"request: protocol {json.dumps(r.get('protocol'))} is not {PROTOCOL}, the one this runner speaks")
    device = r.get("device", {})
    if not isinstance(device, dict):
        raise RequestError("request: device must be an object")
    # device.provider means something to the ort runner only; the worker sends its default.
    if "provider" in device and not isinstance(device["provider"], str):
        raise RequestError("request: device.provider must be a string")
    name = r.get("input")
    if not isinstance(name, str) or not name or len(name.encode()) > 1024:
        raise RequestError("request: input must be the model input's name")
    out = {
        "model": _rel_path(r.get("model"), "model"),
        "input": name,
        "threads": _int(r.get("threads", 1), "threads", 1, MAX_THREADS),
        "result": _rel_path(r.get("result", "result.json"), "result"),
        "eval": [],
        "timing": [],
    }
    ev = r.get("eval", [])
    if not isinstance(ev, list) or len(ev) > MAX_EVAL:
        raise RequestError(f"request: eval must be a list of at most {MAX_EVAL} entries")
    seen = set()
    for i, e in enumerate(ev):
        if not isinstance(e, dict):
            raise RequestError(f"request: eval[{i}] is not an object")
        entry = {"input": _rel_path(e.get("input"), f"eval[{i}].input"),
                 "output": _rel_path(e.get("output"), f"eval[{i}].output")}
        if entry["output"] in seen:
            raise RequestError(f"request: eval[{i}].output repeats {entry['output']}")
        seen.add(entry["output"])
        out["eval"].append(entry)
    tm = r.get("timing", [])
    if not isinstance(tm, list) or len(tm) > MAX_TIMING:
        raise RequestError(f"request: timing must be a list of at most {MAX_TIMING} entries")
    sizes = set()
    for i, t in enumerate(tm):
        if not isinstance(t, dict):
            raise RequestError(f"request: timing[{i}] is not an object")
        w = f"timing[{i}]"
        e = {
            "batch_size": _int(t.get("batch_size"), f"{w}.batch_size", 1, MAX_BATCH),
            "input": _rel_path(t.get("input"), f"{w}.input"),
            "warmup_runs": _int(t.get("warmup_runs", 0), f"{w}.warmup_runs", 0, MAX_RUNS),
            "warmup_seconds": _num(t.get("warmup_seconds", 0), f"{w}.warmup_seconds", 0, MAX_SECONDS),
            "min_runs": _int(t.get("min_runs", 1), f"{w}.min_runs", 1, MAX_RUNS),
            "min_seconds": _num(t.get("min_seconds", 0), f"{w}.min_seconds", 0, MAX_SECONDS),
        }
        e["max_runs"] = _int(t.get("max_runs", e["min_runs"]), f"{w}.max_runs", e["min_runs"], MAX_RUNS)
        if e["batch_size"] in sizes:
            raise RequestError(f"request: batch size {e['batch_size']} is timed twice")
        sizes.add(e["batch_size"])
        out["timing"].append(e)
    return out


# ------------------------------------------------------------------------------------------
# Messages users see


def clean_message(msg, work_dir):
    """One line of at most 300 bytes without absolute paths: the work directory is cut off
    (paths become relative to W), any other absolute path is reduced to its last part."""
    s = str(msg)
    dirs = {work_dir, os.path.realpath(work_dir)} if work_dir else set()
    for d in sorted(dirs, key=len, reverse=True):
        s = s.replace(d + "/", "").replace(d, ".")
    s = re.sub(r"(^|[\s'\"(=:\[])(/[^\s'\"():,\]]*)",
               lambda m: m.group(1) + (os.path.basename(m.group(2).rstrip("/")) or "/"), s)
    s = " ".join(s.split())
    b = s.encode()
    if len(b) > ERROR_BYTES:
        s = b[:ERROR_BYTES].decode("utf-8", "ignore")  # never half a UTF-8 sequence
    return s


# ------------------------------------------------------------------------------------------
# .npy files (C order; the protocol sends float32 and wants float32 back)


def read_npy_header(path):
    """(descr, shape, data offset) of an .npy file, format versions 1 to 3."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 10 or head[:6] != b"\x93NUMPY":
                raise RequestError(f"{path}: not a .npy file")
            if head[6] == 1:
                hlen, start = struct.unpack("<H", head[8:10])[0], 10
            elif head[6] in (2, 3):
                if len(head) < 12:
                    raise RequestError(f"{path}: truncated .npy header")
                hlen, start = struct.unpack("<I", head[8:12])[0], 12
            else:
                raise RequestError(f"{path}: unsupported .npy version {head[6]}")
            if hlen > 1 << 20:
                raise RequestError(f"{path}: .npy header too large")
            f.seek(start)
            text = f.read(hlen).decode("latin1")
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise RequestError(f"{path} is missing") from None
    except OSError as e:
        raise RequestError(f"cannot read {path}: {e.strerror}") from None
    descr = re.search(r"'descr'\s*:\s*'([^']+)'", text)
    fortran = re.search(r"'fortran_order'\s*:\s*(True|False)", text)
    shape = re.search(r"'shape'\s*:\s*\(([^)]*)\)", text)
    if not (descr and fortran and shape):
        raise RequestError(f"{path}: malformed .npy header")
    if fortran.group(1) == "True":
        raise RequestError(f"{path}: Fortran-order arrays are not supported")
    dims = []
    for part in shape.group(1).split(","):
        part = part.strip()
        if part:
            if not part.isdigit():
                raise RequestError(f"{path}: bad .npy dimension '{part}'")
            dims.append(int(part))
    offset = start + hlen
    if descr.group(1) == "<f4" and size - offset < 4 * math.prod(dims):
        raise RequestError(f"{path}: truncated .npy data")
    return descr.group(1), dims, offset


def read_f32_npy(path):
    """(shape, raw little-endian float32 bytes) of a float32 .npy."""
    descr, shape, offset = read_npy_header(path)
    if descr != "<f4":
        raise RequestError(f"{path} holds {descr}, the protocol sends float32")
    if not shape:
        raise RequestError(f"{path} is a scalar, not a batch")
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(4 * math.prod(shape))
    return shape, data


def npy_bytes_f32(shape, values):
    """An .npy file (v1, header padded to 64 bytes as numpy does) of float32 values."""
    dims = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    head = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % dims
    pad = 64 - (10 + len(head) + 1) % 64
    head = head + " " * (pad % 64) + "\n"
    a = array.array("f", values)
    if sys.byteorder != "little":
        a.byteswap()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode("latin1") + a.tobytes()


def f32_to_f16_bytes(data):
    """float32 bytes as float16 bytes (round to nearest even, as struct's 'e' does): what a
    float16 model's input binding takes."""
    a = array.array("f")
    a.frombytes(data)
    if sys.byteorder != "little":
        a.byteswap()
    try:
        return struct.pack(f"<{len(a)}e", *a)
    except OverflowError:
        raise RequestError("an input value does not fit in float16") from None


# ------------------------------------------------------------------------------------------
# ONNX: the few fields needed, read with a small protobuf walker (no onnx package)


def _fields(buf, start, end):
    pos = start

    def varint():
        nonlocal pos
        result, shift = 0, 0
        while True:
            if pos >= end:
                raise ValueError("truncated protobuf varint")
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    while pos < end:
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            yield field, wire, varint()
        elif wire == 2:
            n = varint()
            if pos + n > end:
                raise ValueError("truncated protobuf field")
            yield field, wire, (pos, pos + n)
            pos += n
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


ELEM_TYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64"}


def _value_info(buf, span):
    """ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{value=1|param=2}}}}}"""
    name, elem, dims = "", None, None
    for f, w, v in _fields(buf, *span):
        if f == 1 and w == 2:
            name = buf[v[0]:v[1]].decode("utf-8", "replace")
        elif f == 2 and w == 2:
            for f2, w2, v2 in _fields(buf, *v):
                if f2 != 1 or w2 != 2:
                    continue
                for f3, w3, v3 in _fields(buf, *v2):
                    if f3 == 1 and w3 == 0:
                        elem = ELEM_TYPES.get(v3, f"onnx_type_{v3}")
                    elif f3 == 2 and w3 == 2:
                        dims = []
                        for f4, w4, v4 in _fields(buf, *v3):
                            if f4 != 1 or w4 != 2:
                                continue
                            d = None  # unknown or symbolic
                            for f5, w5, v5 in _fields(buf, *v4):
                                if f5 == 1 and w5 == 0:
                                    d = v5
                            dims.append(d)
    return {"name": name, "type": elem, "shape": dims}


def read_onnx_info(path):
    """{inputs: [{name, type, shape}], outputs: [...], qdq: bool}. Shape entries are ints
    or None (symbolic); inputs that are initializers (old IR versions) are dropped."""
    with open(path, "rb") as f:
        buf = f.read()
    graph = None
    for f, w, v in _fields(buf, 0, len(buf)):
        if f == 7 and w == 2:  # ModelProto.graph
            graph = v
    if graph is None:
        raise ValueError("no graph (not an ONNX model?)")
    inputs, outputs, inits, qdq = [], [], set(), False
    for f, w, v in _fields(buf, *graph):
        if w != 2:
            continue
        if f == 1:  # NodeProto.op_type = 4
            for f2, w2, v2 in _fields(buf, *v):
                if f2 == 4 and w2 == 2 and buf[v2[0]:v2[1]] in (b"QuantizeLinear", b"DequantizeLinear"):
                    qdq = True
        elif f == 5:  # TensorProto.name = 8
            for f2, w2, v2 in _fields(buf, *v):
                if f2 == 8 and w2 == 2:
                    inits.add(buf[v2[0]:v2[1]].decode("utf-8", "replace"))
        elif f == 11:
            inputs.append(_value_info(buf, v))
        elif f == 12:
            outputs.append(_value_info(buf, v))
    return {"inputs": [i for i in inputs if i["name"] not in inits], "outputs": outputs, "qdq": qdq}


# ------------------------------------------------------------------------------------------
# What trtexec writes. The formats are those of NVIDIA's open-source trtexec, TensorRT 8.6
# and 10.x (github.com/NVIDIA/TensorRT, samples/common/sampleReporting.cpp: exportJSONTrace,
# exportJSONOutput, printProlog, printEpilog; samples/common/logging.h: the
# "[MM/DD/YYYY-HH:MM:SS] [I] " prefix and the "&&&& RUNNING TensorRT.trtexec [TensorRT
# v100700]" line). testdata/ holds examples.

_LOG_PREFIX = re.compile(r"^\[\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\] ")
_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan))"


def strip_log_prefix(line):
    return _LOG_PREFIX.sub("", line.rstrip("\r\n"))


def decode_trt_version_code(code):
    """NV_TENSORRT_VERSION as trtexec prints it: 8601 is 8.6.1 (MAJOR*1000+MINOR*100+PATCH
    up to 9.x), 100700 is 10.7.0 (MAJOR*10000+MINOR*100+PATCH from 10.0)."""
    if code >= 10000:
        return f"{code // 10000}.{code // 100 % 100}.{code % 100}"
    return f"{code // 1000}.{code // 100 % 10}.{code % 100}"


def parse_version(text):
    """TensorRT's version from trtexec's output: the "TensorRT version: 10.7.0" line of a
    run, else the "[TensorRT v100700]" of its "&&&& RUNNING" line (printed by --help too)."""
    m = re.search(r"TensorRT version: (\d+\.\d+\.\d+)", text)
    if m:
        return m.group(1)
    m = re.search(r"\[TensorRT v(\d+)\]", text)
    if m:
        return decode_trt_version_code(int(m.group(1)))
    return None


def parse_summary(text):
    """The facts of an inference run's log: {"device", "warmup_queries", "queries",
    "trace_s", "latency": {min, max, mean, median, percentiles{p: v}}, "gpu_compute": ...}.
    Missing lines leave keys out."""
    out = {}
    for raw in text.splitlines():
        line = strip_log_prefix(raw)
        body = line[4:] if line[:4] in ("[I] ", "[W] ", "[E] ", "[V] ", "[F] ") else line
        m = re.match(r"Selected Device: (.+)$", body)
        if m:
            out["device"] = m.group(1).strip()
        m = re.match(r"Warmup completed (\d+) queries over " + _NUM + " ms", body)
        if m:
            out["warmup_queries"] = int(m.group(1))
        m = re.match(r"Timing trace has (\d+) queries over " + _NUM + " s", body)
        if m:
            out["queries"], out["trace_s"] = int(m.group(1)), float(m.group(2))
        for key, label in (("latency", "Latency"), ("gpu_compute", "GPU Compute Time"), ("enqueue", "Enqueue Time")):
            m = re.match(re.escape(label) + r": min = " + _NUM + r" ms, max = " + _NUM + r" ms, mean = " + _NUM
                         + r" ms, median = " + _NUM + r" ms(.*)$", body)
            if m:
                pct = {float(p): float(v) for p, v in re.findall(r"percentile\(" + _NUM + r"%\) = " + _NUM + " ms", m.group(5))}
                out[key] = {"min": float(m.group(1)), "max": float(m.group(2)), "mean": float(m.group(3)),
                            "median": float(m.group(4)), "percentiles": pct}
    return out


def parse_error(text):
    """The first error trtexec reported ("[E] ..." or "[F] ..."), else its FAILED line."""
    for raw in text.splitlines():
        line = strip_log_prefix(raw)
        if line.startswith(("[E] ", "[F] ")):
            return line[4:].strip()
    for raw in text.splitlines():
        line = strip_log_prefix(raw)
        if line.startswith("&&&& FAILED"):
            return line.split(" # ", 1)[0].strip()
    return None


# C++ streams print non-finite floats as inf/nan, which JSON has no words for.
_NONFINITE = re.compile(r"(?<![\w.\"])(-?)(inf|nan|-nan)(?![\w\"])", re.IGNORECASE)


def _loads_trt_json(text, what):
    def word(m):
        if m.group(2).lower() == "inf":
            return m.group(1) + "Infinity"
        return "NaN"
    try:
        return json.loads(_NONFINITE.sub(word, text))
    except ValueError as e:
        raise RunError(f"{what} is not JSON: {e}") from None


def parse_times(text):
    """--exportTimes: a list with one object per timed query (8.6 and 10.x leave warm-up
    out), times in ms on trtexec's own clock: startEnqMs, endEnqMs, startH2dMs, endH2dMs,
    startComputeMs, endComputeMs, startD2hMs, endD2hMs, h2dMs, computeMs, d2hMs, latencyMs
    (older versions also endToEndMs)."""
    data = _loads_trt_json(text, "trtexec's --exportTimes file")
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise RunError("trtexec's --exportTimes file is not a list of objects")
    return data


def query_ms(entry):
    """One query's time: trtexec's "latency" (H2D + GPU compute + D2H of that query, from
    CUDA events), rebuilt from its parts or the compute span when a version lacks it."""
    def get(k):
        v = entry.get(k)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    v = get("latencyMs")
    if v is None and None not in (get("h2dMs"), get("computeMs"), get("d2hMs")):
        v = get("h2dMs") + get("computeMs") + get("d2hMs")
    if v is None:
        v = get("computeMs")
    if v is None and get("endComputeMs") is not None and get("startComputeMs") is not None:
        v = get("endComputeMs") - get("startComputeMs")
    return v


def query_span(entry):
    """(start, end) of one query on trtexec's clock, ms: from its input copy to its output copy."""
    def first(*keys):
        for k in keys:
            v = entry.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        return None
    return first("startH2dMs", "startComputeMs", "startEnqMs"), first("endD2hMs", "endComputeMs", "endEnqMs")


def trace_ms(trace, max_runs):
    """The per-query times the protocol wants: positive, finite, at most max_runs (trtexec
    stops on its own terms; the first max_runs queries are kept)."""
    out = []
    for i, e in enumerate(trace[:max_runs]):
        v = query_ms(e)
        if v is None or not math.isfinite(v) or v < 0:
            raise RunError(f"trtexec's --exportTimes entry {i} has no usable latency")
        out.append(max(round(v, 6), 1e-6))  # event resolution is ~0.5 us; the protocol wants > 0
    return out


def parse_output(text, name):
    """--exportOutput: [{"name": ..., "dimensions": "64x10", "values": [...]}, ...] with the
    outputs in no particular order. Returns (dims, values) of output `name` (or of the only
    one). Values have the 6 significant digits of a C++ stream."""
    data = _loads_trt_json(text, "trtexec's --exportOutput file")
    if not isinstance(data, list) or not data or not all(isinstance(e, dict) for e in data):
        raise RunError("trtexec's --exportOutput file is not a list of outputs")
    entry = next((e for e in data if e.get("name") == name), data[0] if len(data) == 1 else None)
    if entry is None:
        raise RunError(f"trtexec exported no output '{name}'")
    dims_text = str(entry.get("dimensions", "")).strip()
    # "64x10" (8.6, 10.x); "(64, 10)" is accepted too.
    parts = [p for p in re.split(r"[x,()\s]+", dims_text) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise RunError(f"trtexec's output '{name}' has dimensions '{dims_text}'")
    dims = [int(p) for p in parts]
    values = entry.get("values")
    if not isinstance(values, list) or len(values) != math.prod(dims):
        raise RunError(f"trtexec's output '{name}' has {len(values) if isinstance(values, list) else 'no'} values for {dims_text}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise RunError(f"trtexec's output '{name}' holds non-numbers")
    return dims, values


def energy_between(samples, t0, t1):
    """Energy in joules between host times t0 and t1 (s) from (time s, counter mJ) samples,
    interpolated linearly; None when the samples do not cover [t0, t1]."""
    if not samples or t1 < t0 or t0 < samples[0][0] or t1 > samples[-1][0]:
        return None

    def at(t):
        lo, hi = 0, len(samples) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if samples[mid][0] <= t:
                lo = mid
            else:
                hi = mid
        (ta, ea), (tb, eb) = samples[lo], samples[hi]
        if tb <= ta:
            return float(eb)
        return ea + (eb - ea) * (min(max(t, ta), tb) - ta) / (tb - ta)

    return max(at(t1) - at(t0), 0.0) / 1000.0


def timed_window(trace, kept, marker_time):
    """Host times (s) of the first `kept` queries of `trace`. trtexec prints "Timing trace
    has N queries" right after its last query ends, so the reading time of that line is
    the trace's last end on the host's clock; the rest follows from the trace's own times."""
    spans = [query_span(e) for e in trace]
    ends = [e for _, e in spans if e is not None]
    if not trace or kept <= 0 or None in spans[0] or spans[kept - 1][1] is None or not ends:
        return None
    last = max(ends)
    return (marker_time - (last - spans[0][0]) / 1000.0, marker_time - (last - spans[kept - 1][1]) / 1000.0)


# ------------------------------------------------------------------------------------------
# NVML


class Nvml:
    """The GPU's total-energy counter (mJ since the driver loaded; Volta and later)."""

    def __init__(self, lib_name="libnvidia-ml.so.1"):
        self.lib = None
        self.handle = None
        self.meter = None
        self.why = None
        try:
            lib = ctypes.CDLL(lib_name)
        except OSError:
            self.why = "NVML (libnvidia-ml.so.1) is not available"
            return
        if lib.nvmlInit_v2() != 0:
            self.why = "NVML did not initialise"
            return
        self.lib = lib
        handle = ctypes.c_void_p()
        # trtexec runs on CUDA device 0, the first of CUDA_VISIBLE_DEVICES. NVML ignores that
        # variable, so its first entry picks the NVML device: a UUID directly, an index as
        # an NVML index (the same GPU where CUDA enumerates in PCI order, as on machines of
        # one GPU model). MIG instances have no energy counter of their own.
        first = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip() or "0"
        if first.startswith("MIG-"):
            self.why = "NVML has no energy counter for a MIG instance"
            return
        if first.startswith("GPU-"):
            rc = lib.nvmlDeviceGetHandleByUUID(first.encode(), ctypes.byref(handle))
            meter = f"nvml:{first[:40]}"
        elif first.isdigit():
            rc = lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(int(first)), ctypes.byref(handle))
            meter = f"nvml:{int(first)}"
        else:
            self.why = f"CUDA_VISIBLE_DEVICES names no GPU NVML can find"
            return
        if rc != 0:
            self.why = f"NVML cannot open the GPU (error {rc})"
            return
        self.handle = handle
        if self.energy_mj() is None:
            self.why = "this GPU has no NVML energy counter"
            self.handle = None
            return
        self.meter = meter

    def energy_mj(self):
        if self.lib is None or self.handle is None:
            return None
        e = ctypes.c_ulonglong()
        if self.lib.nvmlDeviceGetTotalEnergyConsumption(self.handle, ctypes.byref(e)) != 0:
            return None
        return e.value

    @property
    def ok(self):
        return self.meter is not None

    def close(self):
        if self.lib is not None:
            self.lib.nvmlShutdown()
            self.lib = None


class EnergySampler:
    """Reads the counter every NVML_PERIOD_S on a thread (ctypes drops the GIL during the
    call), so the energy of any window inside the run can be interpolated afterwards."""

    def __init__(self, nvml):
        self.nvml, self.samples, self._stop = nvml, [], threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _read(self):
        e = self.nvml.energy_mj()
        if e is not None:
            self.samples.append((time.monotonic(), e))

    def _loop(self):
        while not self._stop.is_set():
            self._read()
            self._stop.wait(NVML_PERIOD_S)

    def __enter__(self):
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._read()


# ------------------------------------------------------------------------------------------
# Running trtexec


def find_trtexec():
    exe = os.environ.get("TRTEXEC") or shutil.which("trtexec")
    if not exe or not os.access(exe, os.X_OK):
        raise RunError("trtexec not found: set TRTEXEC or put trtexec on PATH")
    return exe


def _spec_name(name):
    """An input name as trtexec's name:value options take it: quoted when it holds ':' or ','."""
    if "'" in name:
        raise RunError(f"trtexec cannot be given an input named {name!r} (it holds a quote)")
    return f"'{name}'" if (":" in name or "," in name) else name


class Trtexec:
    def __init__(self, exe, log=sys.stderr):
        self.exe, self.log, self.version = exe, log, None

    def run(self, args, what, markers=()):
        """Runs trtexec; returns (output text, {marker: host time its line was read}).
        stdout and stderr are one stream ([E] lines go to stderr), read line by line so
        that the moment a marker line appears is known."""
        cmd = [self.exe] + args
        self.log.write("trtexec_runner: " + " ".join(cmd) + "\n")
        self.log.flush()
        try:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as e:
            raise RunError(f"cannot start trtexec: {e.strerror}") from None
        lines, seen = [], {}
        for raw in p.stdout:
            now = time.monotonic()
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            for m in markers:
                if m not in seen and m in line:
                    seen[m] = now
        rc = p.wait()
        text = "".join(lines)
        if self.version is None:
            self.version = parse_version(text)
        if rc != 0:
            self.log.write("".join(lines[-40:]))
            reason = parse_error(text) or (f"exit status {rc}" if rc > 0 else f"signal {-rc}")
            raise RunError(f"trtexec failed {what}: {reason}")
        return text, seen


def _shape_arg(name, shape):
    return f"--shapes={_spec_name(name)}:{'x'.join(str(d) for d in shape)}"


class Engines:
    """One engine per input shape, built on first use (a build costs seconds to minutes)."""

    def __init__(self, trt, model, decl, qdq, directory):
        self.trt, self.model, self.decl, self.qdq, self.dir = trt, model, decl, qdq, directory
        self.dynamic = decl["shape"] is None or any(d is None for d in decl["shape"])
        self.paths = {}

    def shape_args(self, shape):
        return [_shape_arg(self.decl["name"], shape)] if self.dynamic else []

    def get(self, shape):
        key = tuple(shape)
        if key not in self.paths:
            path = f"{self.dir}/b{'x'.join(str(d) for d in shape)}.engine"
            args = [f"--onnx={self.model}", f"--saveEngine={path}", "--skipInference",
                    f"--timingCacheFile={self.dir}/timing.cache"] + self.shape_args(shape)
            if self.qdq:
                args.append("--int8")  # explicit quantization: INT8 where the Q/DQ pairs say
            self.trt.run(args, f"building the engine for input {'x'.join(str(d) for d in shape)}")
            self.paths[key] = path
        return self.paths[key]


def check_shape(shape, decl, what):
    if decl["shape"] is None:
        return
    ok = len(shape) == len(decl["shape"]) and all(d is None or d == s for d, s in zip(decl["shape"], shape))
    if not ok:
        fmt = lambda s: "[" + ",".join("?" if d is None else str(d) for d in s) + "]"
        raise RequestError(f"{what} has shape {fmt(shape)}, the model's input '{decl['name']}' is {fmt(decl['shape'])}")


def plan_chunks(batches, dynamic, sample_elems, classes):
    """Groups consecutive eval batches (lists of row counts) into trtexec runs: a model of
    fixed batch runs each batch alone; a dynamic one runs as many whole batches together as
    fit the per-process bounds, every run padded to the same row count so that one engine
    serves them all. Returns (rows per run, [[batch index, ...], ...])."""
    if not batches:
        return 0, []
    if not dynamic:
        return max(batches), [[i] for i in range(len(batches))]
    cap = min(CHUNK_MAX_ROWS, CHUNK_INPUT_BYTES // max(4 * sample_elems, 1))
    if classes:
        cap = min(cap, CHUNK_OUTPUT_VALUES // classes)
    # Runs of a whole number of the largest batch: with equal batches only the last run is
    # padded, and a batch is never split.
    big = max(batches)
    rows = big * max(1, min(cap // big, -(-sum(batches) // big)))
    chunks, cur, n = [], [], 0
    for i, b in enumerate(batches):
        if cur and n + b > rows:
            chunks.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += b
    chunks.append(cur)
    if len(chunks) == 1:
        rows = sum(batches)  # one run: no padding at all
    return rows, chunks


def input_bytes(data, decl):
    return f32_to_f16_bytes(data) if decl["type"] == "float16" else data


def run_request(req, work_dir, trt, nvml_factory=Nvml):
    info = read_onnx_info_checked(req["model"])
    decl = next((i for i in info["inputs"] if i["name"] == req["input"]), None)
    if decl is None:
        names = ", ".join(f"'{i['name']}'" for i in info["inputs"]) or "none"
        raise RequestError(f"the model has no input '{req['input']}' (it has {names})")
    if len(info["inputs"]) != 1:
        raise RunError(f"the model has {len(info['inputs'])} inputs; the protocol feeds one")
    if decl["type"] not in (None, "float32", "float16"):
        raise RunError(f"the model's input '{decl['name']}' is {decl['type']}; the protocol feeds float32")
    if not info["outputs"]:
        raise RunError("the model has no outputs")
    out_name = info["outputs"][0]["name"]
    out_shape = info["outputs"][0]["shape"]
    classes = math.prod(out_shape[1:]) if out_shape and all(isinstance(d, int) for d in out_shape[1:]) else 0
    tdir = "trt"
    os.makedirs(tdir, exist_ok=True)
    engines = Engines(trt, req["model"], decl, info["qdq"], tdir)
    notes = []

    # ---- evaluation ----
    shapes = []
    for e in req["eval"]:
        descr, shape, _ = read_npy_header(e["input"])
        if descr != "<f4":
            raise RequestError(f"{e['input']} holds {descr}, the protocol sends float32")
        if not shape:
            raise RequestError(f"{e['input']} is a scalar, not a batch")
        check_shape(shape, decl, e["input"])
        if shapes and shape[1:] != shapes[0][1:]:
            raise RequestError(f"{e['input']} has samples of shape {shape[1:]}, {req['eval'][0]['input']} of {shapes[0][1:]}")
        shapes.append(shape)
    if shapes:
        sample_elems = math.prod(shapes[0][1:])
        rows, chunks = plan_chunks([s[0] for s in shapes], engines.dynamic, sample_elems, classes)
        if engines.dynamic and len(chunks) < len(shapes):
            notes.append(f"evaluation ran {rows} samples per trtexec run")
        for k, chunk in enumerate(chunks):
            data = bytearray()
            for i in chunk:
                data += read_f32_npy(req["eval"][i]["input"])[1]
            n = sum(shapes[i][0] for i in chunk)
            shape = [rows] + shapes[0][1:] if engines.dynamic else shapes[chunk[0]]
            data += bytes(4 * sample_elems * (shape[0] - n))  # zero rows; their outputs are dropped
            bin_path, out_path = f"{tdir}/eval{k}.bin", f"{tdir}/eval{k}.json"
            with open(bin_path, "wb") as f:
                f.write(input_bytes(bytes(data), decl))
            what = f"on {req['eval'][chunk[0]]['input']}"
            trt.run(["--loadEngine=" + engines.get(shape)] + engines.shape_args(shape)
                    + [f"--loadInputs={_spec_name(decl['name'])}:{bin_path}", f"--exportOutput={out_path}",
                       "--iterations=1", "--warmUp=0", "--duration=0"], what)
            with open(out_path, encoding="utf-8", errors="replace") as f:
                dims, values = parse_output(f.read(), out_name)
            if not dims or dims[0] != shape[0]:
                raise RunError(f"trtexec's output '{out_name}' {what} has dimensions {dims}, not {shape[0]} rows")
            per = len(values) // shape[0]
            row = 0
            for i in chunk:
                b = shapes[i][0]
                target = req["eval"][i]["output"]
                try:
                    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
                    with open(target, "wb") as f:
                        f.write(npy_bytes_f32([b, per], values[row * per:(row + b) * per]))
                except OSError as e:
                    raise RunError(f"cannot write {target}: {e.strerror}") from None
                row += b
            os.remove(bin_path)
            os.remove(out_path)

    # ---- timing ----
    timings = []
    nvml = nvml_factory() if req["timing"] else None
    try:
        if nvml is not None and not nvml.ok:
            notes.append(f"no energy: {nvml.why}")
        for t in req["timing"]:
            b = t["batch_size"]
            shape, raw = read_f32_npy(t["input"])
            check_shape(shape, decl, t["input"])
            if shape[0] != b:
                raise RequestError(f"{t['input']} holds {shape[0]} samples, not batch size {b}")
            bin_path, times_path = f"{tdir}/time_b{b}.bin", f"{tdir}/times_b{b}.json"
            with open(bin_path, "wb") as f:
                f.write(input_bytes(raw, decl))
            engine = engines.get(shape)
            # trtexec warms up by time only; asked for warm-up runs, it gets at least its own
            # default of 200 ms, which covers them for any model under 40 ms a query.
            warm_ms = max(t["warmup_seconds"] * 1000.0, 200.0 if t["warmup_runs"] > 0 else 0.0)
            args = ["--loadEngine=" + engine] + engines.shape_args(shape) + [
                f"--loadInputs={_spec_name(decl['name'])}:{bin_path}", f"--exportTimes={times_path}",
                f"--warmUp={warm_ms:g}", f"--iterations={t['min_runs']}", f"--duration={t['min_seconds']:g}"]
            marker = "Timing trace has "
            what = f"timing batch size {b}"
            if nvml is not None and nvml.ok:
                with EnergySampler(nvml) as sampler:
                    text, seen = trt.run(args, what, markers=(marker,))
            else:
                sampler = None
                text, seen = trt.run(args, what)
            with open(times_path, encoding="utf-8", errors="replace") as f:
                trace = parse_times(f.read())
            if not trace:
                raise RunError(f"trtexec timed no queries for batch size {b}")
            ms = trace_ms(trace, t["max_runs"])
            entry = {"batch_size": b, "ms": ms}
            if sampler is not None:
                window = timed_window(trace, len(ms), seen[marker]) if marker in seen else None
                joules = energy_between(sampler.samples, *window) if window else None
                if joules is not None:
                    entry["energy_j"] = round(joules, 6)
                    entry["energy_meter"] = nvml.meter
                elif len(notes) < 15:
                    notes.append(f"no energy for batch size {b}: the timed queries could not be placed in NVML's samples")
            timings.append(entry)
            os.remove(bin_path)
    finally:
        if nvml is not None:
            nvml.close()
    notes.append("engine: explicit INT8 from the model's Q/DQ nodes, FP32 (TF32 allowed) elsewhere" if info["qdq"]
                 else "engine: FP32 (TF32 allowed, TensorRT's default)")
    if req["timing"]:
        notes.append("times are trtexec's per-query latency: input copy + GPU compute + output copy, from CUDA events")
    return {"runtime": RUNTIME, "version": trt.version or "unknown", "provider": "tensorrt",
            "timings": timings, "notes": [n[:300] for n in notes[:16]]}


def read_onnx_info_checked(model):
    if not os.path.exists(model):
        raise RequestError(f"{model} is missing")
    try:
        return read_onnx_info(model)
    except (OSError, ValueError, IndexError) as e:
        raise RunError(f"{model} is not a readable ONNX model: {e}") from None


# ------------------------------------------------------------------------------------------
# Entry points


def describe(out=sys.stdout, nvml_factory=Nvml):
    try:
        exe = find_trtexec()
        text, _ = Trtexec(exe, log=sys.stderr).run(["--help"], "printing its help")
    except RunError as e:
        sys.stderr.write(f"trtexec_runner: {e}\n")
        return 1
    nvml = nvml_factory()
    try:
        meters = [nvml.meter] if nvml.ok else []
    finally:
        nvml.close()
    out.write(json.dumps({"runtime": RUNTIME, "version": parse_version(text) or "unknown",
                          "providers": ["tensorrt"], "meters": meters}) + "\n")
    out.flush()
    return 0


def run(request_path, nvml_factory=Nvml):
    work_dir = os.path.dirname(os.path.abspath(request_path))
    name = os.path.basename(request_path)
    try:
        os.chdir(work_dir)
        try:
            with open(name, encoding="utf-8") as f:
                raw = json.load(f)
        except OSError as e:
            raise RequestError(f"cannot read {name}: {e.strerror}") from None
        except ValueError as e:
            raise RequestError(f"{name} is not JSON: {e}") from None
        req = parse_request(raw)
        trt = Trtexec(find_trtexec())
        result = run_request(req, work_dir, trt, nvml_factory)
        tmp = req["result"] + ".tmp"
        try:
            os.makedirs(os.path.dirname(req["result"]) or ".", exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(result, f, allow_nan=False)
                f.write("\n")
            os.replace(tmp, req["result"])  # never a half-written result
        except OSError as e:
            raise RunError(f"cannot write {req['result']}: {e.strerror}") from None
        return 0
    except (RequestError, RunError) as e:
        code = 2 if isinstance(e, RequestError) else 1
        sys.stderr.write(f"trtexec_runner: {e}\n")
        reason = clean_message(str(e), work_dir)
    except Exception as e:  # a bug here must still fail the run with a reason, not a traceback only
        import traceback
        traceback.print_exc()
        code, reason = 1, clean_message(f"unexpected error: {type(e).__name__}: {e}", work_dir)
    try:
        with open(os.path.join(work_dir, "error.txt"), "w", encoding="utf-8") as f:
            f.write(reason + "\n")
    except OSError:
        pass  # the exit status still tells
    return code


def main(argv):
    if argv == ["--describe"]:
        return describe()
    if len(argv) != 1 or argv[0].startswith("-"):
        sys.stderr.write("usage: python3 trtexec_runner.py W/request.json | --describe   (docs/devices.md)\n")
        return 2
    return run(argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
