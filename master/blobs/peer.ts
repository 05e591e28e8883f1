/** A master as the election names it (`MasterInfo` in ZooKeeper: master/election/layout.ts). */
export interface Peer {
  readonly id: string;
  readonly address: string;
  /** Its raw Ed25519 public key, base64: the key its replica calls must be signed with. */
  readonly publicKey: string;
}
