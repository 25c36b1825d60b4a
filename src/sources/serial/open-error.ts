/**
 * Turn a failed open into a sentence a user can act on. serialport's native binding reports open
 * failures as plain strings ("Error: Permission denied, cannot open /dev/ttyUSB0",
 * "Error Resource temporarily unavailable Cannot lock port") without an errno code, so we
 * recognise both the Node errno code (from fs calls) and the strerror text.
 */
type OpenErrorCode = 'EACCES' | 'ENOENT' | 'EBUSY' | 'ENOTTY' | 'EOTHER';

export interface ExplainedOpenError {
  code: OpenErrorCode;
  /** for DeviceStatus.reason and the log: what happened and what to do */
  reason: string;
}

const HINTS: Record<Exclude<OpenErrorCode, 'EOTHER'>, string> = {
  EACCES: 'permission denied: add the service user to the dialout group (sudo usermod -aG dialout serialgate)',
  ENOENT: 'no such device: is it plugged in? prefer /dev/serial/by-id/... paths',
  EBUSY: 'port is busy: another program (a getty on the UART? ModemManager?) holds it',
  // the binding's words were "Inappropriate ioctl for device setting custom baud rate of 9600"
  ENOTTY: 'not a serial port: the path names a file, a directory or a device that is no terminal (serialgate ports lists the serial ports)',
};

function classify(code: string | undefined, message: string): OpenErrorCode {
  if (code === 'EACCES' || code === 'EPERM' || message.includes('Permission denied') || message.includes('Operation not permitted')) return 'EACCES';
  if (code === 'ENOENT' || code === 'ENXIO' || message.includes('No such file or directory') || message.includes('No such device')) return 'ENOENT';
  if (
    code === 'EBUSY' ||
    code === 'EAGAIN' ||
    message.includes('Cannot lock port') ||
    message.includes('Device or resource busy') ||
    message.includes('Resource temporarily unavailable')
  ) {
    return 'EBUSY';
  }
  if (code === 'ENOTTY' || code === 'EISDIR' || message.includes('Inappropriate ioctl for device') || message.includes('Is a directory'))
    return 'ENOTTY';
  return 'EOTHER';
}

export function explainOpenError(err: unknown, path: string): ExplainedOpenError {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = classify(typeof e?.code === 'string' ? e.code : undefined, message);
  const hint = code === 'EOTHER' ? `cannot open: ${message}` : HINTS[code];
  return { code, reason: `${path}: ${hint}` };
}
