// Opening a file that must be a regular file, without ever blocking: a FIFO named like an image would
// block a plain open/read forever (it waits for a writer), and a device (/dev/zero) never ends. The
// file is opened non-blocking and checked with fstat on the same descriptor (no race with a rename).
import fs from 'node:fs';

/** What a path is when it is not a regular file, for messages. */
export type NotRegular = 'folder' | 'FIFO (named pipe)' | 'socket' | 'device' | 'special file';

export class NotRegularFileError extends Error {
  constructor(
    readonly file: string,
    readonly kind: NotRegular,
  ) {
    super(`${file} is a ${kind}, not a file`);
  }
}

function kindOf(st: fs.Stats): NotRegular {
  if (st.isDirectory()) return 'folder';
  if (st.isFIFO()) return 'FIFO (named pipe)';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'special file';
}

/**
 * Opens `file` for reading and returns its descriptor and size; throws NotRegularFileError for a
 * folder, FIFO, socket or device (before reading a byte), and the fs error (ENOENT, EACCES) otherwise.
 */
export function openRegularFile(file: string): { fd: number; size: number } {
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting (POSIX open(2)); 0 where undefined (Windows).
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(file, kindOf(st));
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Reads a whole regular file (see openRegularFile); one allocation of the file's size. */
export function readRegularFile(file: string): Buffer {
  const { fd, size } = openRegularFile(file);
  try {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, buf, got, size - got, got);
      if (n === 0) return buf.subarray(0, got); // shrank while reading
      got += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}
