// What a failed file-system call means to a person, from its error code ('the disk is full' rather
// than ENOSPC); the message itself when the code is not one of these.
const REASONS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EEXIST: 'a file of that name is in the way',
  ENOTDIR: 'a file of that name is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the disk is read-only',
  ENOENT: 'no such file or folder',
};

export function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e?.code && REASONS[e.code]) ?? e?.message ?? String(err);
}
