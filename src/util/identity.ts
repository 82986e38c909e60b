// Who runs this process, as `user@host`: the holder of Leases and journals, so a second operator sees who holds it.
import { hostname, userInfo } from 'node:os';

export function localIdentity(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container running as an arbitrary uid)
  }
  return `${user}@${hostname()}`;
}
