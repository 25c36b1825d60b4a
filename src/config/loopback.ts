/**
 * The one definition of "loopback": the schema's rule for an anonymous operator, the Host
 * allowlist's default and the start-up warning all ask this, so they cannot disagree about
 * 127.0.0.2 or `[::1]`.
 */

/** Is this listen address (or Host name) reachable from this machine only? */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}
