// floss for Node.js through koffi, declared from include/floss.h at load
// time: nothing is re-typed. The header's `#define FLOSS_*` constants, the
// `floss_options` struct and every function prototype are read from the
// header and given to koffi (which parses C prototypes itself), so a new
// function, field or constant of a later header needs no change here.
//
//   const floss = require('./floss');          // or floss.open(lib, header)
//   floss.FLOSS_INPUT_LOGITS, floss.lib.floss_focal_loss_f64(...)
//
// The library and header are FLOSS_LIBRARY and FLOSS_HEADER if set, else
// this repository's target/release/libfloss.so and include/floss.h.
'use strict';

const fs = require('fs');
const path = require('path');
const koffi = require('koffi');

const REPO = path.join(__dirname, '..', '..');

// C types of floss.h, as koffi names them.
const C_TYPES = {
  uint32_t: 'uint32_t', int64_t: 'int64_t', size_t: 'size_t', double: 'double', float: 'float',
};

// Every `#define FLOSS_NAME value` with an integer value; INT64_MIN-like
// expressions such as (-9223372036854775807 - 1) become BigInt.
function parseConstants(header) {
  const constants = {};
  for (const m of header.matchAll(/^#define (FLOSS_[A-Z0-9_]+) (.+)$/gm)) {
    const text = m[2].trim();
    const sum = text.match(/^\(?\s*(-?\d+)\s*(?:-\s*(\d+))?\s*\)?$/);
    if (!sum) continue;
    let value = BigInt(sum[1]) - BigInt(sum[2] || 0);
    constants[m[1]] = (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER))
      ? Number(value) : value;
  }
  return constants;
}

// The fields of `typedef struct floss_options { ... } floss_options;`, in order.
function parseOptions(header) {
  const body = header.match(/typedef struct floss_options \{([\s\S]*?)\} floss_options;/);
  if (!body) throw new Error('floss.h: no floss_options struct');
  const code = body[1].replace(/\/\*[\s\S]*?\*\//g, '');
  const fields = {};
  for (const m of code.matchAll(/^\s*([a-z0-9_]+) ([a-z0-9_]+);/gm)) {
    if (!C_TYPES[m[1]]) throw new Error(`floss.h: floss_options.${m[2]} has type ${m[1]}, unknown here`);
    fields[m[2]] = C_TYPES[m[1]];
  }
  return fields;
}

// Every function prototype, as one line koffi can parse; `struct floss_options`
// becomes the koffi type name floss_options.
function parsePrototypes(header) {
  const code = header.replace(/\/\*[\s\S]*?\*\//g, '');
  const prototypes = {};
  for (const m of code.matchAll(/^([A-Za-z][A-Za-z0-9_ *]*?\b(floss_[a-z0-9_]+)\([^;]*\));/gm)) {
    prototypes[m[2]] = m[1].replace(/\bstruct\s+/g, '').replace(/\s+/g, ' ');
  }
  return prototypes;
}

function open(libraryPath, headerPath) {
  const header = fs.readFileSync(headerPath, 'utf8');
  const constants = parseConstants(header);
  const optionFields = parseOptions(header);
  const prototypes = parsePrototypes(header);

  koffi.alias('floss_status', 'uint32_t');
  const Options = koffi.struct('floss_options', optionFields);
  const native = koffi.load(libraryPath);
  const lib = {};
  for (const [name, proto] of Object.entries(prototypes)) {
    // floss_options_init_sized fills the struct: an output parameter for koffi.
    const decl = name === 'floss_options_init_sized' ? proto.replace('(floss_options *', '(_Out_ floss_options *') : proto;
    lib[name] = native.func(decl);
  }

  // A floss_options with the library's defaults, as a JS object. Like the
  // header's floss_options_init macro, it passes the struct's size (the
  // floss_options_init symbol is the 0.1 entry point, 40 bytes).
  function options(fields = {}) {
    const opts = {};
    const status = lib.floss_options_init_sized(opts, koffi.sizeof(Options));
    if (status !== constants.FLOSS_OK) {
      throw new Error(`floss_options_init_sized: ${lib.floss_status_str(status)}: ${lastError()}`);
    }
    return Object.assign(opts, fields);
  }

  // The calling thread's message about the last failed call.
  function lastError() {
    const len = Number(lib.floss_last_error(null, 0));
    const buf = Buffer.alloc(len + 1);
    lib.floss_last_error(buf, buf.length);
    return buf.toString('utf8', 0, len);
  }

  return { ...constants, constants, Options, optionFields, prototypes, lib, options, lastError, koffi, libraryPath, headerPath };
}

module.exports = open(
  process.env.FLOSS_LIBRARY || path.join(REPO, 'target', 'release', 'libfloss.so'),
  process.env.FLOSS_HEADER || path.join(REPO, 'include', 'floss.h'),
);
module.exports.open = open;
module.exports.parse = { parseConstants, parseOptions, parsePrototypes };
