"""A pseudo-terminal for the firmware mock: the device end of a serial line.

Creates a PTY pair, puts the slave in raw mode (no echo, no line discipline: bytes pass exactly as
written), points LINK at the slave (/dev/pts/N) the way udev maintains /dev/serial/by-id/..., then
relays bytes: stdin -> master (what the device sends), master -> stdout (what the gateway sends).
Prints "READY /dev/pts/N" on stderr once the link exists. Exits when stdin closes (its parent is
gone) or on SIGTERM; the parent removes the link. We keep our own slave fd open so that the master
does not report EIO while the gateway has the port closed (between reconnects).

SIGUSR1 makes the device stop reading (a USB CDC device whose firmware hung): the master is no
longer read, so the kernel's PTY buffer fills and the gateway's writes stop completing. SIGUSR2
reads again. Each is acknowledged on stderr ("READING 0" / "READING 1") once it has taken effect.

Only the standard library: python3 ships with Debian and Raspberry Pi OS.
"""
import os
import select
import signal
import sys
import tty

reading = True


def set_reading(on):
    global reading
    reading = on
    sys.stderr.write("READING %d\n" % int(on))
    sys.stderr.flush()


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def main():
    link = sys.argv[1]
    master, slave = os.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    tmp = "%s.%d.tmp" % (link, os.getpid())
    os.symlink(name, tmp)
    os.replace(tmp, link)  # atomic: a reader never sees the link missing or half-made
    sys.stderr.write("READY %s\n" % name)
    sys.stderr.flush()
    signal.signal(signal.SIGUSR1, lambda *_: set_reading(False))
    signal.signal(signal.SIGUSR2, lambda *_: set_reading(True))
    # a signal wakes select up (else it retries with the old fd list): the list depends on `reading`
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    while True:
        readable, _, _ = select.select([stdin, wake_r, master] if reading else [stdin, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 512)
        if stdin in readable:
            data = os.read(stdin, 65536)
            if not data:
                return
            write_all(master, data)
        if master in readable and reading:
            write_all(stdout, os.read(master, 65536))


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
