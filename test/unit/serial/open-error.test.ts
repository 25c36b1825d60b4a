import { describe, expect, it } from 'vitest';
import { explainOpenError } from '../../../src/sources/serial/open-error.js';

const P = '/dev/ttyUSB0';
const ACCES = `${P}: permission denied: add the service user to the dialout group (sudo usermod -aG dialout serialgate)`;
const NOENT = `${P}: no such device: is it plugged in? prefer /dev/serial/by-id/... paths`;
const BUSY = `${P}: port is busy: another program (a getty on the UART? ModemManager?) holds it`;
const NOTTY = `${P}: not a serial port: the path names a file, a directory or a device that is no terminal (serialgate ports lists the serial ports)`;

describe('explainOpenError', () => {
  it.each([
    // the exact strings of @serialport/bindings-cpp (serialport_unix.cpp)
    [new Error(`Error: Permission denied, cannot open ${P}`), 'EACCES', ACCES],
    [new Error(`Error: No such file or directory, cannot open ${P}`), 'ENOENT', NOENT],
    [new Error('Error Resource temporarily unavailable Cannot lock port'), 'EBUSY', BUSY],
    [new Error(`Error: Device or resource busy, cannot open ${P}`), 'EBUSY', BUSY],
    [new Error('Error: Inappropriate ioctl for device setting custom baud rate of 9600'), 'ENOTTY', NOTTY],
    [new Error(`Error: Is a directory, cannot open ${P}`), 'ENOTTY', NOTTY],
    // Node errno errors (from fs.stat before the open)
    [Object.assign(new Error('stat failed'), { code: 'ENOENT' }), 'ENOENT', NOENT],
    [Object.assign(new Error('stat failed'), { code: 'EACCES' }), 'EACCES', ACCES],
    [Object.assign(new Error('x'), { code: 'EBUSY' }), 'EBUSY', BUSY],
  ])('%s → %s', (err, code, reason) => {
    expect(explainOpenError(err, P)).toEqual({ code, reason });
  });

  it('anything else keeps the original message', () => {
    expect(explainOpenError(new Error('Error: Invalid argument setting custom baud rate of 7'), P)).toEqual({
      code: 'EOTHER',
      reason: `${P}: cannot open: Error: Invalid argument setting custom baud rate of 7`,
    });
    expect(explainOpenError('weird', P)).toEqual({ code: 'EOTHER', reason: `${P}: cannot open: weird` });
    expect(explainOpenError(undefined, P).code).toBe('EOTHER');
  });
});
