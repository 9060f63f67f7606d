/** Random keys all instances on one database share, created by whichever instance needs one first. */
export interface InstanceKeyRepository {
  /** The key stored under `name`; stores `candidateBase64` first when there is none (a racing instance's key wins). */
  findOrCreate(name: string, candidateBase64: string, nowMs: number): Promise<string>;
}
