'use strict';
// Shared with the device runners: worker/runners/lib/onnx_meta.js (see npy.js here for why).
module.exports = require('../../worker/runners/lib/onnx_meta');
