/** The wire protocol: everything master, agents, frameworks and the CLI import from protocol/. */
export { protocolLimits, fieldLimits } from './limits.js';
export {
  protocolErrorCodes,
  protocolError,
  type ProtocolError,
  type ProtocolErrorCode,
} from './errors.js';
export { encodeCbor, decodeCbor } from './cbor/codec.js';
export { checkStrictCbor } from './cbor/strict.js';
export { KEY_ID_PATTERN, isKeyId, keyIdOf, rawPublicKey } from './keys/key-id.js';
export { roles, isRole, type Role } from './keys/roles.js';
export { generateIdentity, identityFromPrivateKey, type Identity } from './keys/identity.js';
export { TrustStore, type TrustedKey } from './keys/trust.js';
export { ENVELOPE_VERSION, type EnvelopeHeader } from './envelope/header.js';
export { Signer, newSessionId, type SignerOptions } from './envelope/seal.js';
export { open, type OpenOptions, type OpenedMessage } from './envelope/open.js';
export { ReplayGuard, type ReplayVerdict } from './envelope/replay.js';
export { wrap, unwrap, SIGNATURE_BYTES } from './envelope/wire.js';
export * from './messages/common.js';
export * from './messages/task.js';
export * from './messages/scheduler.js';
export * from './messages/agent.js';
export * from './messages/registry.js';
export * from './messages/master.js';
export { encodeRecord, RecordIoDecoder } from './recordio.js';
export {
  formatPublicKeyFile,
  parsePublicKeyFile,
  writeKeyPair,
  loadPrivateKey,
  loadTrustStore,
  KEY_NAME_PATTERN,
  TRUST_FILES_MAX,
  type KeyFileError,
  type KeyFileErrorCode,
  type PublicKeyFile,
  type WrittenKeyPair,
} from './keys/files.js';
