// Password hashes for the receive connector's AUTH users and the web admin's logins: argon2id, as
// OWASP recommends; the hash string carries its own parameters, so they can be raised later.
import { hash, verify } from '@node-rs/argon2';

/** Argon2id: memory cost 19 MiB, 2 iterations, 1 lane (the OWASP minimum for argon2id). */
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Whether `password` matches `encoded` ($argon2id$…); false for a malformed hash rather than throwing. */
export async function verifyPassword(encoded: string, password: string): Promise<boolean> {
  try {
    return await verify(encoded, password);
  } catch {
    return false;
  }
}

export function isPasswordHash(value: string): boolean {
  return /^\$argon2(id|i|d)\$/.test(value);
}
