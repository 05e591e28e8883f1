import { assert } from '../lib/assert.js';

/**
 * Every bound of the wire protocol, in one place. Defaults here; an `open` call may lower or
 * raise the per-call ones (envelopeBytesMax, skewMs). Documented in docs/PROTOCOL.md.
 */
export const protocolLimits = {
  /** Largest envelope (outer CBOR wrapper included) that `open` will look at. */
  envelopeBytesMax: 1024 * 1024,
  /** How far a message's `ts` may be from the receiver's clock, either way. */
  skewMs: 30_000,
  /** Sequence numbers remembered below the highest seen per (sender, session). */
  replayWindowSeqs: 1024,
  /** (sender, session) pairs tracked for replay; least recently used are evicted. */
  replaySessionsMax: 10_000,
  /** Largest RecordIO record; a stream record carries one envelope or one JSON event. */
  recordBytesMax: 4 * 1024 * 1024,
  /** Decimal digits in a RecordIO length prefix (enough for recordBytesMax). */
  recordLengthDigitsMax: 10,
  /** Nesting depth of any CBOR payload. */
  cborDepthMax: 32,
  /** Envelope header strings. */
  typeCharsMax: 64,
  sessionIdCharsMax: 64,
} as const;

/** Bounds on strings and arrays inside message bodies (zod schemas use these). */
export const fieldLimits = {
  idCharsMax: 256,
  nameCharsMax: 256,
  hostnameCharsMax: 253,
  roleCharsMax: 256,
  messageCharsMax: 4096,
  textCharsMax: 1024,
  pathCharsMax: 4096,
  urlCharsMax: 4096,
  commandCharsMax: 65_536,
  versionCharsMax: 64,
  /** Opaque payloads (`data`, wasm `input`) are base64 strings of at most this many bytes. */
  dataBytesMax: 256 * 1024,
  argumentsMax: 256,
  argumentCharsMax: 4096,
  envVarsMax: 256,
  resourcesMax: 64,
  attributesMax: 64,
  labelsMax: 64,
  rangesMax: 1024,
  setItemsMax: 1024,
  rolesMax: 64,
  capabilitiesMax: 32,
  permissionsMax: 64,
  runtimesMax: 8,
  offersMax: 1024,
  offerIdsMax: 1024,
  operationsMax: 64,
  taskInfosMax: 1024,
  /** Tasks in one reconcile request or one agent reregistration. */
  tasksMax: 10_000,
  statusesMax: 64,
  /** Scalar resource and attribute values; Mesos keeps three decimals. */
  scalarMax: 1e15,
  wasmFuelMax: Number.MAX_SAFE_INTEGER,
  wasmMemoryBytesMax: 4 * 1024 * 1024 * 1024,
  wasmTimeoutMsMax: 7 * 24 * 3_600_000,
  heartbeatSecondsMax: 3600,
} as const;

// Relationships between the limits, checked once when the module loads.
assert(
  protocolLimits.recordBytesMax >= protocolLimits.envelopeBytesMax,
  'a stream record must be able to carry the largest envelope',
);
assert(
  String(protocolLimits.recordBytesMax).length <= protocolLimits.recordLengthDigitsMax,
  'the length prefix must be able to express recordBytesMax',
);
assert(
  fieldLimits.dataBytesMax * 2 < protocolLimits.envelopeBytesMax,
  'an opaque data field (base64) must fit in an envelope',
);
assert(protocolLimits.replayWindowSeqs % 32 === 0, 'the replay bitmap is made of 32-bit words');
