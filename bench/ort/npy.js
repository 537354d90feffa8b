'use strict';
// The .npy reader/writer lives with the device runners (worker/runners/lib/npy.js), which the
// worker ships on its own; this peer runner shares it rather than keeping a second copy.
module.exports = require('../../worker/runners/lib/npy');
